#!/usr/bin/env python3
"""A naive replace-all deploy over Fly's Machines API, Python standard library only: destroy every
machine and create a replacement on the new image, without leases, health checks or draining.
Usage: naive_deploy.py API_URL APP IMAGE   (e.g. http://127.0.0.1:4280 cherrypicker repo:v2)
Against `fleetsim serve` it loses requests where `fleetsim deploy` (bluegreen) does not."""

import json
import os
import sys
import urllib.request


def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    token = os.environ.get("FLY_API_TOKEN")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=90) as response:
        text = response.read()
        return json.loads(text) if text else None


def main(api_url, app, image):
    machines_url = f"{api_url.rstrip('/')}/v1/apps/{app}/machines"
    old = call("GET", machines_url)
    for machine in old:
        call("DELETE", f"{machines_url}/{machine['id']}?force=true")
        print(f"destroyed {machine['id']}")
        config = dict(machine["config"], image=image)
        new = call("POST", machines_url, {"config": config, "region": machine["region"]})
        print(f"created {new['id']} on {image}")
    print(f"replaced {len(old)} machines")


if __name__ == "__main__":
    main(*sys.argv[1:4])
