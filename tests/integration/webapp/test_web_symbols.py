"""Symbols through the webapp over the real PostgreSQL, search engine, RabbitMQ and crash
storage: uploads (and the hostile ones, which must store nothing), the symbol server, the
missing-symbols report and the reprocessing an upload starts."""

from __future__ import annotations

import datetime as dt
import io
import stat
import uuid
import zipfile

import falcon.testing
import pytest
from web_integration import NOW, SUFFIX, headers, processed_crash, settings_from_env

from crashline.common.crashid import create_crash_id
from crashline.common.queue import REASON_HEADER, QueueNames, RabbitMQ
from crashline.common.search.documents import search_document
from crashline.common.storage import storage_from_settings
from crashline.common.symbols.layout import SYMBOLS_PREFIX
from crashline.webapp.app import create_app
from crashline.webapp.services import Services

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:10].upper()


def debug_id(n: int) -> str:
    """A debug id of this run: 32 hex digits and an age."""
    return f"{RUN}{n:022X}1"


def sym(debug_file: str, ident: str, body: bytes = b"FUNC 1000 10 0 f\n") -> bytes:
    return f"MODULE windows x86 {ident} {debug_file}\nFILE 0 c:\\a.cc\n".encode() + body


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def path_of(debug_file: str, ident: str) -> str:
    return f"{debug_file}/{ident}/{debug_file.removesuffix('.pdb')}.sym"


@pytest.fixture(scope="module")
def env(web_env, database, web_search, rabbitmq_client, accounts):
    """An app of our own, on queues of our own (the reprocessing it starts is looked at)."""
    prefix = f"{web_env['CRASHLINE_QUEUE_PREFIX']}-symbols"
    settings = settings_from_env(web_env, queue_prefix=prefix,
                                 symbols_upload_max_bytes=3_000_000,
                                 symbols_upload_max_files=50)
    services = Services(settings, db=database, search=web_search)
    client = falcon.testing.TestClient(create_app(settings, services))
    queue = RabbitMQ(settings.rabbitmq_url, QueueNames(prefix))
    queue.connect()
    user = f"symbols-{SUFFIX}"
    accounts.create_user(user, "symbols-password", permissions=["upload_symbols", "view_pii"])
    keys = {"upload": accounts.create_token(user, ["upload_symbols"])[0],
            "other": accounts.create_token(user, ["view_pii"])[0]}
    yield {"client": client, "settings": settings, "queue": queue, "keys": keys,
           "storage": storage_from_settings(settings)}
    for name in queue.names.all:
        queue.channel.queue_delete(queue=name)
    queue.close()


def upload(env, body: bytes, key: str = "upload", content_type: str = "application/zip",
           **kwargs) -> falcon.testing.Result:
    return env["client"].simulate_post(
        "/api/UploadSymbols/", body=body,
        headers={**headers(env["keys"].get(key, key)), "Content-Type": content_type}, **kwargs)


def stored_keys(env) -> set[str]:
    root = env["settings"].storage_path / SYMBOLS_PREFIX
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} \
        if root.is_dir() else set()


def test_upload_serve_and_upload_again(env):
    data = sym("serve.pdb", debug_id(20), b"".join(b"FUNC %x 10 0 f%d\n" % (16 * n, n)
                                                  for n in range(50_000)))
    path = path_of("serve.pdb", debug_id(20))
    first = upload(env, zipped({path: data}))
    assert first.status_code == 201, first.text
    assert first.json["files"] == [{"path": path, "size": len(data), "status": "stored"}]
    assert env["storage"].store.get(SYMBOLS_PREFIX + path) == data

    served = env["client"].simulate_get(f"/symbols/{path}",
                                        params={"code_file": "test_app.exe", "code_id": "1"})
    assert served.status_code == 200 and served.content == data
    head = env["client"].simulate_head(f"/symbols/{path}")
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(data)

    again = upload(env, data, content_type="text/plain")  # the bare .sym this time
    assert again.status_code == 201
    assert again.json["files"][0]["status"] == "unchanged"
    assert again.json["stored"] == 0


def test_symbol_server_answers_404(env):
    client = env["client"]
    missing = client.simulate_get(f"/symbols/{path_of('nowhere.pdb', debug_id(99))}")
    assert missing.status_code == 404 and "No symbol file" in missing.json["error"]
    for bad in (f"/symbols/a.pdb/{debug_id(1)}/b.sym", "/symbols/a.pdb/xyz/a.sym",
                "/symbols/..%2F..%2Fetc/passwd/x.sym"):
        assert client.simulate_get(bad).status_code == 404, bad


def test_multipart_upload_of_several_files(env):
    files = {path_of(f"multi{n}.pdb", debug_id(n)): sym(f"multi{n}.pdb", debug_id(n))
             for n in range(3)}
    boundary = "b0undary"
    body = b""
    names = list(files)
    body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"a\"; "
             f"filename=\"s.zip\"\r\nContent-Type: application/zip\r\n\r\n").encode()
    body += zipped({n: files[n] for n in names[:2]}) + b"\r\n"
    body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"b\"; "
             f"filename=\"multi2.sym\"\r\n\r\n").encode() + files[names[2]] + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    result = upload(env, body, content_type=f"multipart/form-data; boundary={boundary}")
    assert result.status_code == 201, result.text
    assert sorted(f["path"] for f in result.json["files"]) == sorted(names)
    assert set(names) <= stored_keys(env)


def symlink_zip() -> bytes:
    out = io.BytesIO()
    info = zipfile.ZipInfo(path_of("link.pdb", debug_id(7)))
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(info, "../../../../etc/passwd")
    return out.getvalue()


HOSTILE = {
    "traversal": (lambda: zipped({"../../evil.pdb/" + debug_id(1) + "/evil.sym":
                                  sym("evil.pdb", debug_id(1))}), "not a relative path"),
    "absolute": (lambda: zipped({"/tmp/" + path_of("evil.pdb", debug_id(1)):
                                 sym("evil.pdb", debug_id(1))}), "not a relative path"),
    "zip bomb": (lambda: zipped({path_of("bomb.pdb", debug_id(2)):
                                 sym("bomb.pdb", debug_id(2), b"\0" * 2_500_000)}), "zip bomb"),
    "mismatched MODULE line": (lambda: zipped({
        path_of("good.pdb", debug_id(3)): sym("good.pdb", debug_id(3)),
        path_of("liar.pdb", debug_id(4)): sym("other.pdb", debug_id(4))}), "MODULE line is for"),
    "symlink": (symlink_zip, "symbolic link"),
    "too many members": (lambda: zipped({path_of(f"m{n}.pdb", debug_id(5)):
                                         sym(f"m{n}.pdb", debug_id(5)) for n in range(60)}),
                         "entries"),
    "not symbols": (lambda: b"\x7fELF\x02\x01\x01" + b"\0" * 100, "neither a zip archive"),
    "foreign file": (lambda: zipped({"evil.pdb/" + debug_id(6) + "/evil.exe": b"MZ"}),
                     "not a .sym file"),
    "empty": (lambda: b"", "nothing was uploaded"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_uploads_are_refused_and_store_nothing(env, case):
    make, message = HOSTILE[case]
    before = stored_keys(env)
    result = upload(env, make())
    assert result.status_code == 400, result.text
    assert message in result.json["error"]
    assert stored_keys(env) == before
    assert "good.pdb" not in str(stored_keys(env))  # the good file beside the liar neither


def test_permission_and_size(env):
    body = zipped({path_of("perm.pdb", debug_id(8)): sym("perm.pdb", debug_id(8))})
    before = stored_keys(env)
    for key, status in (("other", 403), (None, 403), ("not-a-token", 403)):
        result = env["client"].simulate_post(
            "/api/UploadSymbols/", body=body,
            headers={**headers(env["keys"].get(key, key)), "Content-Type": "application/zip"})
        assert result.status_code == status, (key, result.text)
    too_big = upload(env, b"MODULE " + b"x" * 3_000_001)
    assert too_big.status_code == 413  # chunked bodies: tests/e2e/test_e2e_symbols.py
    assert stored_keys(env) == before


def index_crash(web_search, when: dt.datetime, missing: list[str], **fields) -> str:
    crash_id = create_crash_id(when)
    processed = processed_crash(crash_id, when, missing_symbol_files=missing, **fields)
    index = web_search.namer.for_date(when)
    web_search.index_document(index, crash_id, search_document(crash_id, processed),
                              refresh=True)
    return crash_id


def test_missing_symbols_report_and_reprocessing(env, web_search):
    a, b, c = (f"report{n}.pdb/{debug_id(10 + n)}" for n in range(3))
    product = f"Sym{RUN}"
    crashes = [
        index_crash(web_search, NOW - dt.timedelta(hours=1), [a, b], product=product,
                    version="1.0"),
        index_crash(web_search, NOW - dt.timedelta(hours=2), [a], product=product,
                    version="2.0"),
        index_crash(web_search, NOW - dt.timedelta(hours=3), [a, c], product=product,
                    version="2.0"),
        index_crash(web_search, NOW - dt.timedelta(days=20), [b], product=product,
                    version="0.9"),  # out of the window
    ]
    report = env["client"].simulate_get("/api/MissingSymbols/",
                                        params={"product": product, "days": "7"}).json
    # Most crashes first (ties by name, the engine's order).
    assert [(h["debug_file"], h["crashes"]) for h in report["hits"]] == [
        ("report0.pdb", 3), ("report1.pdb", 1), ("report2.pdb", 1)]
    top = report["hits"][0]
    assert top["debug_id"] == debug_id(10) and top["uploaded_at"] is None
    assert top["products"] == [{"product": product, "crashes": 3, "versions": [
        {"version": "2.0", "crashes": 2}, {"version": "1.0", "crashes": 1}]}]
    assert report["crashes"] == 3 and report["symbol_files"] == 3

    # The symbols of a arrive: the three recent crashes that missed them are queued, once
    # each, saying why; the old one is out of the window.
    result = upload(env, zipped({path_of("report0.pdb", debug_id(10)):
                                 sym("report0.pdb", debug_id(10))}))
    assert result.status_code == 201, result.text
    assert result.json["reprocessing"] == {"found": 3, "queued": 3, "waiting": 0}
    queue = env["queue"]
    messages = []
    while (message := queue.get(queue.names.reprocessing)) is not None:
        messages.append(message)
        queue.ack(message)
    assert sorted(m.body for m in messages) == sorted(crashes[:3])
    assert {m.header(REASON_HEADER) for m in messages} == {f"symbols arrived for {a}"}

    again = env["client"].simulate_get("/api/MissingSymbols/", params={"product": product})
    assert again.json["hits"][0]["uploaded_at"] is not None  # still missed, but uploaded

    page = env["client"].simulate_get("/missing-symbols/", params={"product": product})
    assert page.status_code == 200
    assert "report0.pdb" in page.text and debug_id(10) in page.text and "uploaded" in page.text


def test_report_parameters_are_checked(env):
    for params in ({"days": "0"}, {"limit": "501"}, {"nope": "1"}):
        assert env["client"].simulate_get("/api/MissingSymbols/", params=params
                                          ).status_code == 400
