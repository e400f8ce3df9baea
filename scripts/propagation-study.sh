#!/usr/bin/env bash
# The downtime-vs-propagation study: at which propagation tail does each strategy start to lose
# requests? Sweeps the tail maximum of scenarios/studies/propagation-tail.toml (20% of routing
# changes take between 1 s and TAIL to reach a proxy) and runs `fleetsim compare` for every tail
# over the same seeds.
#
#   scripts/propagation-study.sh [OUT_DIR]        (default: reports/propagation-study)
#
# Environment: STRATEGIES (default bluegreen@2023-06,bluegreen,rolling), SEEDS (default 1..11),
# TAILS (default "2 4 6 8 10 12 14 16 18 20 25 30 40"), JOBS (default: number of cores).
#
# Writes OUT_DIR/tail-<T>s/{compare.csv,compare-runs.csv,compare.html} per tail, OUT_DIR/study.csv
# (one row per tail and strategy: compare.csv's columns with tail_s first) and OUT_DIR/study.svg
# (failed requests, median across seeds, against the tail), and prints the same as a text chart.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-reports/propagation-study}
strategies=${STRATEGIES:-bluegreen@2023-06,bluegreen,rolling}
seeds=${SEEDS:-1..11}
tails=${TAILS:-2 4 6 8 10 12 14 16 18 20 25 30 40}
jobs=${JOBS:-$(nproc 2> /dev/null || echo 1)}
scenario=scenarios/studies/propagation-tail.toml

cargo build --release --quiet
mkdir -p "$out"
study="$out/study.csv"
: > "$study.tmp"
for tail in $tails; do
    variant="$out/propagation-tail-${tail}s.toml"
    sed "s|^delay = .*# STUDY-TAIL\$|delay = { kind = \"uniform\", min = \"1s\", max = \"${tail}s\" } # STUDY-TAIL|" \
        "$scenario" > "$variant"
    grep -q "max = \"${tail}s\" } # STUDY-TAIL" "$variant" || {
        echo "could not set the tail in $variant" >&2
        exit 1
    }
    echo "tail ${tail}s ..." >&2
    # compare exits 1 when a run breaks the scenario's expectations (a study expects some to):
    # only bad input (2) or worse stops the study.
    status=0
    ./target/release/fleetsim compare "$variant" --strategies "$strategies" --seeds "$seeds" \
        --jobs "$jobs" --out "$out/tail-${tail}s" > "$out/tail-${tail}s.txt" 2> "$out/tail-${tail}s.err" || status=$?
    if [ "$status" -gt 1 ]; then
        cat "$out/tail-${tail}s.err" >&2
        exit 1
    fi
    if [ ! -s "$study.tmp" ]; then
        printf 'tail_s,' >> "$study.tmp"
        head -n 1 "$out/tail-${tail}s/compare.csv" >> "$study.tmp"
    fi
    tail -n +2 "$out/tail-${tail}s/compare.csv" | sed "s|^|${tail},|" >> "$study.tmp"
done
mv "$study.tmp" "$study"

# The chart: median failed requests (across seeds) against the tail, one line per strategy. The
# columns are looked up by name in the header, so the script survives added columns.
awk -F, -v svg="$out/study.svg" '
NR == 1 {
    for (i = 1; i <= NF; i++) column[$i] = i
    next
}
{
    tail = $column["tail_s"]; strategy = $column["strategy"]
    failed = $column["requests_failed_p50"]; worst = $column["requests_failed_max"]; panics = $column["panics"]; runs = $column["runs"]
    if (!(strategy in seen)) { seen[strategy] = 1; order[++strategies] = strategy }
    if (!(tail in seen_tail)) { seen_tail[tail] = 1; tails[++ntails] = tail }
    value[strategy, tail] = failed
    worst_value[strategy, tail] = worst
    note[strategy, tail] = (panics == runs) ? "panic" : ""
    if (worst + 0 > max) max = worst + 0
    if (tail + 0 > tmax) tmax = tail + 0
}
END {
    if (max == 0) max = 1
    # Text chart.
    printf "failed requests per deploy, median / worst seed, by propagation tail maximum\n\n"
    printf "%8s", "tail (s)"
    for (s = 1; s <= strategies; s++) printf "  %-26s", order[s]
    printf "\n"
    for (t = 1; t <= ntails; t++) {
        printf "%8s", tails[t]
        for (s = 1; s <= strategies; s++) {
            v = value[order[s], tails[t]]; w = worst_value[order[s], tails[t]]
            if (note[order[s], tails[t]] != "") { printf "  %-26s", "(panicked)"; continue }
            bar = ""
            for (i = 0; i < int(14 * w / max + 0.5); i++) bar = bar "#"
            printf "  %4d / %-4d %-15s", v, w, bar
        }
        printf "\n"
    }
    # SVG chart.
    W = 980; H = 420; L = 70; R = 280; T = 40; B = 50
    max = (int((max - 1) / 5) + 1) * 5
    pw = W - L - R; ph = H - T - B
    split("#E69F00 #0072B2 #009E73 #D55E00 #CC79A7 #56B4E9", colour, " ")
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H > svg
    printf "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", W, H > svg
    printf "<text x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\">Failed requests per deploy vs propagation tail (solid: worst seed, dashed: median)</text>\n", L > svg
    printf "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#333\"/>\n", L, T, pw, ph > svg
    for (i = 0; i <= 5; i++) {
        y = T + ph - i * ph / 5
        printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d</text>\n", L, y, L + pw, y, L - 6, y + 4, max * i / 5 > svg
    }
    for (t = 1; t <= ntails; t++) {
        x = L + tails[t] / tmax * pw
        printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x, T + ph + 16, tails[t] > svg
    }
    printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">maximum of the slow 20%% of propagation delays (s)</text>\n", L + pw / 2, H - 10 > svg
    printf "<text x=\"16\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 16 %d)\">failed requests per deploy</text>\n", T + ph / 2, T + ph / 2 > svg
    # The two 10 s waits of bluegreen: cordon at +10 s, stop at +20 s after the switch.
    for (w = 10; w <= 20; w += 10) if (w <= tmax) {
        x = L + w / tmax * pw
        printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#999\" stroke-dasharray=\"3 3\"/><text x=\"%.1f\" y=\"%d\" font-size=\"10\" fill=\"#666\">+%d s</text>\n", x, T, x, T + ph, x + 3, T + 12, w > svg
    }
    for (s = 1; s <= strategies; s++) {
        points = ""; median = ""
        for (t = 1; t <= ntails; t++) {
            if (note[order[s], tails[t]] != "") continue
            x = L + tails[t] / tmax * pw
            y = T + ph - worst_value[order[s], tails[t]] / max * ph
            points = points sprintf("%.1f,%.1f ", x, y)
            median = median sprintf("%.1f,%.1f ", x, T + ph - value[order[s], tails[t]] / max * ph)
            printf "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", x, y, colour[s] > svg
        }
        if (points != "") printf "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n", points, colour[s] > svg
        if (median != "") printf "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"5 4\"/>\n", median, colour[s] > svg
        label = order[s]
        if (points == "") label = label " (every run panicked)"
        printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/><text x=\"%d\" y=\"%d\">%s</text>\n", L + pw + 12, T + 10 + s * 18, L + pw + 32, T + 10 + s * 18, colour[s], L + pw + 38, T + 14 + s * 18, label > svg
    }
    printf "</svg>\n" > svg
}' "$study"
rm -f "$out"/propagation-tail-*.toml
echo
echo "written: $study, $out/study.svg, and per tail $out/tail-<T>s/compare.html" >&2
