#!/usr/bin/env bash
# Renders one figure of each kind (line, scatter, bar, histogram, heatmap) through the real `plot` built-ins,
# then screenshots each SVG with headless Chromium so a person can look at them. Not run by CI.
#
#   scripts/check_plots.sh [OUT_DIR]        (default: /tmp/loupe-plot-check)
#
# Needs Debian's chromium (`apt-get install -y chromium`). LOUPE names the loupe binary to use (default: ./loupe,
# which builds the release binary when a source is newer).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-/tmp/loupe-plot-check}"
loupe="${LOUPE:-./loupe}"
mkdir -p "$out"
command -v chromium >/dev/null || { echo "check_plots: chromium is not installed (apt-get install -y chromium)" >&2; exit 1; }

cat > "$out/figures.loupe" <<LOUPE
let out = "$out"
let steps = arange(200)
let train = exp(steps * -0.025) * 3 + 0.2 + sin(steps) * 0.05
let eval_steps = arange(0, 200, 20)
let evals = exp(eval_steps * -0.022) * 3.1 + 0.3
plot.line([train, train * 0.9, train * 1.1], x: steps, labels: ["train", "lo", "hi"], title: "Training loss (log y)",
          xlabel: "step", ylabel: "loss", log_y: true).save(out + "/line-multi.svg")
plot.line(train, x: steps, band: [train * 0.9, train * 1.1], labels: "train", title: "Training loss",
          xlabel: "step", ylabel: "loss", log_y: true, caption: "Loss with a 10% band.").save(out + "/line.svg")
let xs = arange(60) / 6
plot.scatter({truthful: xs * 0.5 + sin(xs * 3), deceptive: xs * -0.3 + cos(xs * 2) * 2}, x: xs,
             err: [nil, ones([60]) * 0.4], title: "Probe scores", xlabel: "layer", ylabel: "probe logit").save(out + "/scatter.svg")
plot.bar({base: [0.61, 0.32, 0.55, 0.71, 0.42], instruct: [0.66, 0.41, 0.58, 0.70, 0.51], steered: [0.64, 0.45, 0.60, 0.69, -0.05]},
         xticks: ["mmlu", "gsm8k", "arc-challenge", "hellaswag", "truthfulqa-mc2"], err: [[0.02, 0.03, 0.02, 0.01, 0.03], nil, nil],
         title: "Accuracy by benchmark", ylabel: "accuracy").save(out + "/bar.svg")
plot.hist([randn([2000], seed: 1) + 10, randn([2000], seed: 2) * 1.5 + 12], bins: 30, labels: ["layer 3", "layer 9"],
          title: "Residual norm", xlabel: "norm", ylabel: "count").save(out + "/histogram.svg")
let toks = ["<|im_start|>", "user", "\n", "What", " is", " the", " capital", " of", " France", "?", "<|im_end|>", "&<>"]
let n = len(toks)
# A causal mask: keys after the query get -1e9 before the softmax.
let mask = tensor(map(0..n, fn(i) -> map(0..n, fn(j) -> if j > i { -1e9 } else { 0 })))
let scores = randn([n, n], seed: 3) * 2 + mask
plot.heatmap(softmax(scores, axis: -1), tokens: toks, title: "Attention pattern, layer 5 head 3", xlabel: "key",
             ylabel: "query", height: 560).save(out + "/heatmap.svg")
LOUPE
"$loupe" run "$out/figures.loupe"

for svg in "$out"/*.svg; do
    png="${svg%.svg}.png"
    timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=900,600 \
        --screenshot="$png" "file://$(realpath "$svg")" >/dev/null 2>&1
    echo "$png"
done
