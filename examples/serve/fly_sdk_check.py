"""Drives `fleetsim serve` with fly-python-sdk 0.3.4, a Machines API client fleetsim did not write:
list, inspect, stop, start and destroy machines. Usage: python3 fly_sdk_check.py BASE_URL APP

Two things in the SDK are worked around, not fixed in fleetsim (README, "fly-python-sdk"):
- `Machine.stop()` calls `self.get_machine(app, id)`, which the SDK never defines: the check gives
  the instance one that inspects the machine.
- The SDK's check models require `port`, `timeout` (and `path` for http) where Fly's API makes every
  check field optional: the served scenario has no top-level checks (serve_sdk.toml).
"""

import asyncio
import sys

from fly_python_sdk.fly.app import App


def pointed(client, base_url):
    client.base_url = base_url
    return client


async def machine(app, base_url, machine_id):
    handle = pointed(app.Machine(machine_id), base_url)

    async def get_machine(_app_name, _machine_id):
        return await handle.inspect()

    handle.get_machine = get_machine
    return handle


async def wait_for(handle, state, polls=200):
    for _ in range(polls):
        if (await handle.inspect()).state == state:
            return
        await asyncio.sleep(0.05)
    raise SystemExit(f"machine {handle.machine_id} never reached {state}")


async def main(base_url, app_name):
    app = pointed(App(api_token="fleetsim", org_slug="personal", app_name=app_name), base_url)
    machines = await app.list_machines()
    assert len(machines) == 3, machines
    assert all(listed.state == "started" for listed in machines), machines
    print(f"listed {len(machines)} machines: {', '.join(listed.id for listed in machines)}")
    first = await machine(app, base_url, machines[0].id)
    inspected = await first.inspect()
    assert inspected.id == machines[0].id and inspected.config.image, inspected
    print(f"inspected {inspected.id}: {inspected.state} in {inspected.region}, {inspected.config.image}")
    await first.stop()
    await wait_for(first, "stopped")
    print(f"stopped {first.machine_id}")
    await first.start()
    await wait_for(first, "started")
    print(f"started {first.machine_id}")
    second = await machine(app, base_url, machines[1].id)
    await second.stop()
    await wait_for(second, "stopped")
    await second.destroy()
    # A destroy completes after the call returns and `list` lags writes (as on Fly): poll, bounded.
    for _ in range(100):
        remaining = await app.list_machines(ids_only=True)
        if machines[1].id not in remaining:
            break
        await asyncio.sleep(0.1)
    assert machines[1].id not in remaining, remaining
    print(f"destroyed {second.machine_id}; {len(remaining)} machines listed")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
