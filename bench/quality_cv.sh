#!/usr/bin/env bash
# 5-fold cross-validated quality of modelserver (modelserver-local --cv 5)
# side by side with the equivalent scikit-learn pipelines (bench/sklearn_cv.py)
# on the shipped datasets. Needs Debian's python3-sklearn and python3-pandas.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build}/tools/modelserver-local
[ -x "$B" ] || bash scripts/build.sh --target modelserver-local
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
D=tests/data
# name|file|target|model|metric|extra flags (same settings as bench/sklearn_cv.py)
cases=(
  "diabetes-linear|diabetes.csv|progression|linear_regression|r2|--validation-fraction 0"
  "diabetes-mlp|diabetes.csv|progression|mlp_regressor|r2|--hidden 32 --learning-rate 0.01 --validation-fraction 0.1"
  "iris-logistic|iris.csv|species|logistic_regression|accuracy|--validation-fraction 0"
  "breast_cancer-logistic|breast_cancer.csv|diagnosis|logistic_regression|accuracy|--validation-fraction 0"
  "breast_cancer-mlp|breast_cancer.csv|diagnosis|mlp_classifier|accuracy|--hidden 32 --learning-rate 0.01 --validation-fraction 0.1"
  "airquality-linear|airquality.csv|Ozone|linear_regression|r2|--validation-fraction 0"
  "mpg_hwy-linear|mpg.csv|hwy|linear_regression|r2|--validation-fraction 0 --features manufacturer,displ,year,cyl,trans,drv,fl,class"
  "mpg_class-mlp|mpg.csv|class|mlp_classifier|accuracy|--hidden 32 --learning-rate 0.01 --validation-fraction 0.1"
)
/usr/bin/python3 bench/sklearn_cv.py "$D" > "$tmp/sklearn.txt"
printf "%-24s %-9s %17s %17s %8s\n" case metric modelserver scikit-learn diff
for c in "${cases[@]}"; do
  IFS='|' read -r name file target model metric extra <<<"$c"
  # shellcheck disable=SC2086
  ours=$("$B" train --quiet --model-dir "$tmp/models" --name "$name" \
    --data "$D/$file" --target "$target" --model "$model" --cv 5 $extra |
    awk -v m="$metric" '/-fold cross-validation/ {cv=1} cv && $1==m {print $2, $4; exit}')
  theirs=$(awk -v n="$name" '$1==n {print $3, $4}' "$tmp/sklearn.txt")
  read -r om os <<<"$ours"; read -r sm ss <<<"$theirs"
  printf "%-24s %-9s %8.4f ± %6.4f %8.4f ± %6.4f %+8.4f\n" "$name" "$metric" \
    "$om" "$os" "$sm" "$ss" "$(echo "$om - $sm" | bc -l)"
done
