"""`accord nlu`: train the Rasa models, run the Rasa servers, and parse text with them.

`accord nlu parse` reads JSON lines {"text": ..., "lang": "en"|"zh"} on stdin and writes each line back with
`intent`, `confidence` and `entities` added, from the model Accord uses for that language. It asks the running
Rasa servers (RASA_URL, or the local ones `accord run` starts); `--start` starts them itself for the run.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import httpx
import typer

from accord.dialogue import rasa_runtime as rt

app = typer.Typer(help="The Rasa dialogue models: train, serve, parse.", no_args_is_help=True)


@app.command("train")
def train(
    lang: list[str] = typer.Option(list(rt.LANGUAGES), "--lang", help="language(s) to train"),
    force: bool = typer.Option(False, "--force", help="train even when the cached model is current"),
) -> None:
    """Train each language's model unless a model for the current data is cached in nlu/models/."""
    for language in lang:
        try:
            path = rt.model_path(language)
            if force and path.exists():
                path.unlink()
            path, trained = rt.ensure_model(language)
        except (rt.RasaSetupError, ValueError) as exc:
            typer.secho(f"accord nlu train: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(1) from exc
        typer.echo(f"{language}: {'trained' if trained else 'up to date'} {path.relative_to(rt.PROJECT_ROOT)}")


def _token() -> str:
    from accord.settings import load_settings

    settings = load_settings()
    if settings.rasa_token:
        return settings.rasa_token.get_secret_value()
    raise typer.BadParameter("set RASA_TOKEN: Rasa's HTTP API must not run without an auth token")


def _exec(command: rt.Command) -> None:
    os.chdir(command.cwd)
    os.execvpe(command.argv[0], command.argv, command.env)  # replaces this process; no shell involved


@app.command("serve")
def serve(lang: str = typer.Argument(..., help="en or zh"), port: int | None = typer.Option(None)) -> None:
    """Run one language's Rasa server on 127.0.0.1 (what `accord run` starts)."""
    try:
        command = rt.server_command(lang, port=port, token=_token())
    except (rt.RasaSetupError, KeyError) as exc:
        typer.secho(f"accord nlu serve: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc
    _exec(command)


@app.command("actions")
def actions(
    port: int = typer.Option(rt.ACTIONS_PORT),
    accord_url: str | None = typer.Option(None, help="Accord's base URL (default ACCORD_INTERNAL_API_URL, or "
                                                     "this machine's ACCORD_PORT)"),
) -> None:
    """Run the Rasa action server, pointed at this Accord's internal API."""
    from accord.settings import load_settings

    settings = load_settings()
    url = accord_url or os.environ.get("ACCORD_INTERNAL_API_URL", f"http://127.0.0.1:{settings.accord_port}")
    token = settings.accord_internal_api_token.get_secret_value()
    try:
        command = rt.actions_command(port=port, accord_url=url, accord_token=token)
    except rt.RasaSetupError as exc:
        typer.secho(f"accord nlu actions: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc
    _exec(command)


@app.command("parse")
def parse(
    url: str | None = typer.Option(None, help="RASA_URL-style value; default: RASA_URL or the local servers"),
    start: bool = typer.Option(False, "--start", help="start local Rasa servers for this run"),
) -> None:
    """JSON lines {"text", "lang"} in, the same lines with intent, confidence and entities out."""
    from accord.settings import load_settings
    from bot.rasa_engine import parse_rasa_urls

    settings = load_settings()
    token = settings.rasa_token.get_secret_value() if settings.rasa_token else None
    servers = None
    if start:
        from accord.dialogue.rasa_servers import LocalRasa

        servers = LocalRasa(with_actions=False).start()
        urls, token = servers.urls, servers.token
    else:
        urls = parse_rasa_urls(url or settings.rasa_url or rt.local_rasa_url())
    try:
        with httpx.Client(timeout=30.0) as client:
            for number, line in enumerate(sys.stdin, start=1):
                if not line.strip():
                    continue
                sys.stdout.write(json.dumps(_parse_line(client, urls, token, line, number), ensure_ascii=False)
                                 + "\n")
                sys.stdout.flush()
    finally:
        if servers is not None:
            servers.stop()


def _parse_line(client: httpx.Client, urls: dict[str, str], token: str | None, line: str, number: int) -> Any:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _fail(f"line {number}: not JSON ({exc.msg})") from exc
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise _fail(f'line {number}: expected an object with a "text" string')
    lang = item.get("lang", "en")
    base = urls.get(lang) or urls.get("*")
    if base is None:
        raise _fail(f"line {number}: no Rasa server for language {lang!r} (known: {', '.join(urls)})")
    try:
        response = client.post(f"{base.rstrip('/')}/model/parse", json={"text": item["text"]},
                               params={"token": token} if token else {})
    except httpx.HTTPError as exc:
        raise _fail(f"cannot reach the {lang} Rasa server at {base} ({exc.__class__.__name__}); start it "
                    "with `accord run`, or pass --start") from exc
    if response.status_code != 200:
        raise _fail(f"the {lang} Rasa server answered HTTP {response.status_code} (is RASA_TOKEN right?)")
    parsed = response.json()
    intent = parsed.get("intent") or {}
    item["intent"] = intent.get("name")
    item["confidence"] = round(float(intent.get("confidence") or 0.0), 4)
    item["entities"] = [{"entity": e.get("entity"), "value": e.get("value"), "start": e.get("start"),
                         "end": e.get("end")} for e in parsed.get("entities", [])]
    return item


def _fail(message: str) -> typer.Exit:
    typer.secho(f"accord nlu parse: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(1)
