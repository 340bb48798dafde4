"""One model per language against one bilingual model: held-out accuracy, parse latency, memory, training cost.

Run from the repository root with the app virtualenv (not part of `make test` or `make bench`: on 2 cores the
first run trains three models, most of an hour):

    .venv/bin/python -m nlu.experiments.compare_models [--retrain] [--requests 200] [--variants en zh bilingual]

Models are trained from scratch (a fresh, throw-away Rasa component cache each time, so nothing is reused from
nlu/.rasa) into var/experiments/<variant>-<content hash>.tar.gz, hashed like Accord's nlu/models/ (the en and zh
hashes are Accord's own), with the training measurements beside each model in <variant>-<hash>.json: a model whose
inputs did not change is reused with the measurements of the run that trained it. nlu/models/ is never touched.

Then each model is served alone (`rasa run --enable-api`, as Accord runs it) and scored with bench/nlu_scoring.py,
the scoring bench_nlu uses: macro-F1 over every intent of nlu/tests/heldout/<lang>.yml, nlu_fallback read as
out_of_scope, and recall on the critical intents. /model/parse latency is the median of N sequential requests to
the warm server (after scoring the held-out set), per language; server memory is the RSS of the server's process
tree after those requests. The table is printed as Markdown and the figures are written to
var/experiments/compare-<UTC time>.json. Wall-clock figures depend on load, so the load average is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import psutil
from accord.dialogue import rasa_runtime as rt
from accord.dialogue.rasa_servers import LocalRasa
from accord.settings import PROJECT_ROOT
from bench.nlu_scoring import heldout, parse_intent, score_heldout

SCRATCH = PROJECT_ROOT / "var" / "experiments"
TIME = Path("/usr/bin/time")
WARMUP_REQUESTS = 20


@dataclass(frozen=True)
class Variant:
    name: str
    config: str  # relative to nlu/
    languages: tuple[str, ...]  # the training data it gets and the held-out sets it is scored on

    @property
    def data(self) -> list[str]:
        return [*(f"data/{lang}" for lang in self.languages), "data/rules", "data/stories"]

    def inputs(self) -> list[Path]:
        """rt.training_inputs with this variant's config and the union of its languages' data."""
        files = [rt.NLU_DIR / self.config]
        for language in self.languages:
            files += [path for path in rt.training_inputs(language)[1:] if path not in files]
        return files

    def model(self) -> Path:
        return SCRATCH / f"{self.name}-{rt.content_hash(self.inputs())}.tar.gz"


VARIANTS = {
    "en": Variant("en", "config-en.yml", ("en",)),
    "zh": Variant("zh", "config-zh.yml", ("zh",)),
    "bilingual": Variant("bilingual", "experiments/config-bilingual.yml", ("en", "zh")),
}


class LoadSampler:
    """The 1-minute load average, sampled every few seconds while a phase runs."""

    def __init__(self, every_s: float = 5.0) -> None:
        self.every_s = every_s
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            if self._stop.wait(self.every_s):
                return

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float]:
        values = self.samples or [os.getloadavg()[0]]
        return {"mean": round(statistics.fmean(values), 2), "min": round(min(values), 2),
                "max": round(max(values), 2)}


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and its descendants (0 once it has gone)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def train(variant: Variant, *, retrain: bool) -> dict[str, Any]:
    """Train `variant` from scratch unless a model for its current inputs is cached; its training figures."""
    model = variant.model()
    record = model.with_name(model.name.removesuffix(".tar.gz") + ".json")
    if model.exists() and record.exists() and not retrain:
        return {**json.loads(record.read_text()), "cached": True}
    SCRATCH.mkdir(parents=True, exist_ok=True)
    model.unlink(missing_ok=True)
    command = rt.rasa_train_command(variant.config, variant.data, model)
    log = model.with_name(model.name.removesuffix(".tar.gz") + ".log")
    print(f"training {variant.name} -> {model.relative_to(PROJECT_ROOT)} (log: {log.relative_to(PROJECT_ROOT)})",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="rasa-cache-", dir=SCRATCH) as cache, \
            tempfile.NamedTemporaryFile(prefix="time-", dir=SCRATCH) as timing, log.open("wb") as out:
        argv = [str(TIME), "-v", "-o", timing.name, *command.argv] if TIME.exists() else command.argv
        env = {**command.env, "RASA_CACHE_DIRECTORY": cache}  # an empty component cache: from scratch
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        polled_peak = 0
        with LoadSampler() as load:
            start = time.perf_counter()
            child = subprocess.Popen(argv, cwd=command.cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
            while child.poll() is None:
                polled_peak = max(polled_peak, tree_rss(child.pid))
                time.sleep(0.5)
            wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        report = Path(timing.name).read_text(errors="replace")
    if child.returncode != 0 or not model.exists():
        raise rt.RasaSetupError(f"training {variant.name} failed (exit {child.returncode}); see {log}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", report)
    figures = {
        "variant": variant.name,
        "model": str(model.relative_to(PROJECT_ROOT)),
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "train_wall_s": round(wall, 1),
        "train_cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1),
        # /usr/bin/time's figure is the largest single process; polling (every 0.5 s) sums the process tree
        "train_peak_rss_mb": round(int(peak.group(1)) / 1024 if peak else polled_peak / 2**20, 1),
        "train_peak_rss_source": "/usr/bin/time -v" if peak else "psutil polling",
        "train_load": load.summary(),
        "model_mb": round(model.stat().st_size / 2**20, 2),
        "cpus": os.cpu_count(),
    }
    record.write_text(json.dumps(figures, indent=2) + "\n")
    return {**figures, "cached": False}


def serve_and_score(variant: Variant, model: Path, requests: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="serve-", dir=SCRATCH) as workdir, LoadSampler() as load, \
            LocalRasa(languages=(variant.name,), with_actions=False, models={variant.name: model},
                      workdir=Path(workdir)) as rasa, httpx.Client(timeout=60) as client:
        url = rasa.urls[variant.name]
        scores = score_heldout(client, dict.fromkeys(variant.languages, url), rasa.token)
        latency = {}
        for language in variant.languages:
            texts = [text for text, _gold in heldout(language)]
            for n in range(WARMUP_REQUESTS):
                parse_intent(client, url, rasa.token, texts[n % len(texts)])
            spent = []
            for n in range(requests):
                start = time.perf_counter()
                parse_intent(client, url, rasa.token, texts[n % len(texts)])
                spent.append((time.perf_counter() - start) * 1000)
            latency[language] = {"p50_ms": round(statistics.median(spent), 1),
                                 "p90_ms": round(statistics.quantiles(spent, n=10)[-1], 1), "requests": requests}
        rss = tree_rss(rasa.server_pids()[variant.name])
    return {
        "f1": {lang: round(scores.f1(lang), 4) for lang in variant.languages},
        "critical": {lang: scores.critical_counts(lang) for lang in variant.languages},
        "mistakes": {lang: scores.mistakes(lang) for lang in variant.languages},
        "parse": latency,
        "server_rss_mb": round(rss / 2**20, 1),
        "serve_load": load.summary(),
    }


def _recall(hits_total: list[tuple[int, int]]) -> str:
    hits, total = sum(h for h, _ in hits_total), sum(t for _, t in hits_total)
    return f"{hits / total:.3f} ({hits}/{total})" if total else "-"


def table(results: dict[str, dict[str, Any]]) -> str:
    head = ("| model | F1 en | F1 zh | critical recall | parse p50 ms | training wall (CPU) | training peak RSS "
            "| server RSS | model size |\n|---|---|---|---|---|---|---|---|---|")
    rows = []

    def row(label: str, parts: list[dict[str, Any]]) -> str:
        f1 = {lang: r["f1"][lang] for r in parts for lang in r["f1"]}
        critical = [r["critical"][lang] for r in parts for lang in r["critical"]]
        parse = " / ".join(f"{lang} {r['parse'][lang]['p50_ms']:.1f}" for r in parts for lang in r["parse"])
        wall = sum(r["train_wall_s"] for r in parts)
        cpu = sum(r["train_cpu_s"] for r in parts)
        en, zh = (f"{f1[lang]:.3f}" if lang in f1 else "-" for lang in ("en", "zh"))
        return (f"| {label} | {en} | {zh} | {_recall(critical)} | {parse} | "
                f"{wall:.0f} s ({cpu:.0f} s) | {max(r['train_peak_rss_mb'] for r in parts) / 1024:.2f} GB | "
                f"{sum(r['server_rss_mb'] for r in parts) / 1024:.2f} GB | "
                f"{sum(r['model_mb'] for r in parts):.1f} MB |")

    for name, result in results.items():
        rows.append(row(f"{name} (`{VARIANTS[name].config}`)", [result]))
        if name in ("en", "zh") and "en" in results and "zh" in results and len(rows) == 2:
            rows.append(row("en + zh (two servers)", [results["en"], results["zh"]]))
    return "\n".join([head, *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nlu.experiments.compare_models", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--retrain", action="store_true", help="train even when var/experiments has the model")
    parser.add_argument("--requests", type=int, default=200, help="timed /model/parse requests per language")
    args = parser.parse_args(argv)
    if not rt.venv_ready():
        print("the Rasa environment .venv-rasa is missing: run `make .venv-rasa/.installed`", file=sys.stderr)
        return 1
    started = datetime.now(timezone.utc)
    results: dict[str, dict[str, Any]] = {}
    for name in args.variants:  # train everything first, one at a time: serving then measures a quiet machine
        results[name] = train(VARIANTS[name], retrain=args.retrain)
    with LoadSampler() as load:
        for name in args.variants:
            print(f"serving and scoring {name} ...", flush=True)
            results[name].update(serve_and_score(VARIANTS[name], PROJECT_ROOT / results[name]["model"],
                                                 args.requests))
    print()
    print(table(results))
    print()
    for name, result in results.items():
        trained = "cached from " + result["trained_at"] if result["cached"] else "trained in this run"
        print(f"- {name}: {trained}; load while training {result['train_load']}, while serving "
              f"{result['serve_load']}; wrong: {result['mistakes']}")
    print(f"- {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, load average while serving and scoring "
          f"{load.summary()}; /model/parse p50 over {args.requests} sequential requests per language")
    out = SCRATCH / f"compare-{started:%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps({"started": started.isoformat(timespec="seconds"), "cpus": os.cpu_count(),
                               "serve_load": load.summary(), "results": results}, indent=2) + "\n")
    print(f"- figures: {out.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
