"""Checking an npm lock before anything is fetched (sandbox.npm_lock), and reading npm's errors."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
from typing import Any

import pytest

from sandbox.errors import DependencyError
from sandbox.npm_installer import npm_files
from sandbox.npm_lock import locked_packages
from sandbox.npm_resolve import explain_failure
from sandbox.npm_tarballs import strongest_hash

REGISTRY = "https://registry.npmjs.org/"


def entry(name: str, version: str, **extra: Any) -> dict[str, Any]:
    digest = base64.b64encode(hashlib.sha512(name.encode()).digest()).decode()
    return {
        "version": version,
        "resolved": f"{REGISTRY}{name}/-/{name.rpartition('/')[2]}-{version}.tgz",
        "integrity": f"sha512-{digest}",
        **extra,
    }


def lock(root_deps: dict[str, str], packages: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "lockfileVersion": 3,
        "packages": {"": {"dependencies": root_deps}, **packages},
    }


def test_a_clean_lock_lists_every_package_to_fetch() -> None:
    checked = locked_packages(
        lock(
            {"a": "1.0.0", "@s/b": "2.0.0"},
            {
                "node_modules/a": entry("a", "1.0.0", dependencies={"c": "^3"}),
                "node_modules/@s/b": entry("@s/b", "2.0.0"),
                "node_modules/c": entry("c", "3.1.0"),
                "node_modules/a/node_modules/c": entry("c", "3.0.0"),
            },
        ),
        ["@s/b@2.0.0", "a@1.0.0"],
        registry=REGISTRY,
    )
    assert [str(p) for p in checked] == ["a@1.0.0", "@s/b@2.0.0", "c@3.1.0", "c@3.0.0"]


def test_a_transitive_install_script_names_the_package_and_the_requirement() -> None:
    bad = lock(
        {"ws-thing": "1.0.0"},
        {
            "node_modules/ws-thing": entry("ws-thing", "1.0.0", dependencies={"native": "^2"}),
            "node_modules/native": entry("native", "2.3.0", hasInstallScript=True),
        },
    )
    with pytest.raises(DependencyError) as caught:
        locked_packages(bad, ["ws-thing@1.0.0"], registry=REGISTRY)
    message = str(caught.value)
    assert "native@2.3.0 (needed by ws-thing@1.0.0) has an install script" in message
    assert "never runs install scripts" in message


@pytest.mark.parametrize(
    ("resolved", "problem"),
    [
        ("git+ssh://git@github.com/evil/pkg.git#abc", "not from the registry"),
        ("https://evil.example/pkg-1.0.0.tgz", "not from the registry"),
        ("file:../pkg", "not from the registry"),
    ],
)
def test_a_package_from_outside_the_registry_is_refused(resolved: str, problem: str) -> None:
    bad = lock({"a": "1.0.0"}, {"node_modules/a": {**entry("a", "1.0.0"), "resolved": resolved}})
    with pytest.raises(DependencyError, match=rf"a@1\.0\.0 comes from .*{problem}"):
        locked_packages(bad, ["a@1.0.0"], registry=REGISTRY)


def test_a_linked_or_hashless_package_is_refused() -> None:
    linked = lock({"a": "1.0.0"}, {"node_modules/a": {"resolved": "pkgs/a", "link": True}})
    with pytest.raises(DependencyError, match=r"a@.* is not a registry package"):
        locked_packages(linked, ["a@1.0.0"], registry=REGISTRY)
    hashless = lock({"a": "1.0.0"}, {"node_modules/a": {**entry("a", "1.0.0"), "integrity": ""}})
    with pytest.raises(DependencyError, match=r"a@1\.0\.0 has no integrity hash"):
        locked_packages(hashless, ["a@1.0.0"], registry=REGISTRY)


def test_optional_packages_of_other_platforms_are_skipped_like_npm_ci_does() -> None:
    packages = locked_packages(
        lock(
            {"tool": "1.0.0"},
            {
                "node_modules/tool": entry("tool", "1.0.0"),
                "node_modules/@t/darwin-arm64": entry(
                    "@t/darwin-arm64", "1.0.0", optional=True, os=["darwin"], cpu=["arm64"]
                ),
                "node_modules/@t/linux-x64-musl": entry(
                    "@t/linux-x64-musl", "1.0.0", optional=True, os=["linux"], libc=["musl"]
                ),
                "node_modules/@t/linux-x64": entry(
                    "@t/linux-x64", "1.0.0", optional=True, os=["linux"], cpu=["x64"]
                ),
                # another platform's package may even carry a script: npm ci never installs it
                "node_modules/fsevents": entry(
                    "fsevents", "1.2.13", optional=True, os=["darwin"], hasInstallScript=True
                ),
            },
        ),
        ["tool@1.0.0"],
        registry=REGISTRY,
        cpu="x64",
    )
    assert [p.name for p in packages] == ["tool", "@t/linux-x64"]


def test_a_lock_npm_6_wrote_is_refused() -> None:
    with pytest.raises(DependencyError, match="lockfileVersion 2 or 3"):
        locked_packages({"lockfileVersion": 1, "dependencies": {}}, [], registry=REGISTRY)


def test_the_strongest_hash_of_an_integrity_string_is_checked() -> None:
    sha1 = base64.b64encode(hashlib.sha1(b"x").digest()).decode()
    sha512 = base64.b64encode(hashlib.sha512(b"x").digest()).decode()
    assert strongest_hash(f"sha1-{sha1} sha512-{sha512}") == (
        "sha512",
        hashlib.sha512(b"x").digest(),
    )
    assert strongest_hash(f"sha1-{sha1}")[0] == "sha1"
    with pytest.raises(ValueError, match="no sha512"):
        strongest_hash("md5-AAAA")


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            "npm error code E404\nnpm error 404  The requested resource 'nope-x@1.0.0' could "
            "not be found or you do not have permission to access it.",
            "npm package nope-x@1.0.0 is not in the registry",
        ),
        (
            "npm error 404  'nope-x@1.0.0' is not in this registry.",
            "npm package nope-x@1.0.0 is not in the registry",
        ),
        (
            "npm error code ETARGET\nnpm error notarget No matching version found for "
            "dayjs@99.0.0.",
            "npm has no version dayjs@99.0.0 in the registry",
        ),
        (
            "npm error code ECONNREFUSED\nnpm error request to http://127.0.0.1:9/dayjs failed",
            "cannot reach the npm registry",
        ),
    ],
)
def test_npm_failures_are_explained_naming_what_failed(output: str, expected: str) -> None:
    assert expected in explain_failure(output, ["dayjs@99.0.0"], REGISTRY)


def test_only_the_npm_package_s_own_regular_files_go_into_a_build_container() -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, kind in [
            ("package/bin/npm-cli.js", tarfile.REGTYPE),
            ("package/../../etc/evil", tarfile.REGTYPE),
            ("/package/abs", tarfile.REGTYPE),
            ("package/link", tarfile.SYMTYPE),
            ("elsewhere/file", tarfile.REGTYPE),
        ]:
            info = tarfile.TarInfo(name)
            info.type, info.size, info.mode = kind, 0 if kind == tarfile.SYMTYPE else 1, 0o755
            info.linkname = "/etc/passwd" if kind == tarfile.SYMTYPE else ""
            tar.addfile(info, io.BytesIO(b"x") if kind == tarfile.REGTYPE else None)
    assert list(npm_files(out.getvalue())) == [("bin/npm-cli.js", b"x", 0o755)]
