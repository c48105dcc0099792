"""Operating system and CPU: from the minidump's system info, then, where the dump says
nothing, from what Android and other reporters annotate; and a readable OS name."""

from __future__ import annotations

import re
from typing import Any

from crashline.processor.pipeline import Crash, Rule

UNKNOWN_OS = "Unknown"
UNKNOWN_CPU = "unknown"


def _system_info(crash: Crash) -> dict:
    json_dump = crash.processed.get("json_dump")
    info = json_dump.get("system_info") if isinstance(json_dump, dict) else None
    return info if isinstance(info, dict) else {}


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


class CPUInfoRule(Rule):
    """``cpu_arch``, ``cpu_info``, ``cpu_count``, ``cpu_microcode_version`` from the dump."""

    def action(self, crash: Crash) -> None:
        info = _system_info(crash)
        processed = crash.processed
        processed["cpu_arch"] = _text(info.get("cpu_arch")) or UNKNOWN_CPU
        for key in ("cpu_info", "cpu_count", "cpu_microcode_version"):
            if info.get(key) is not None:
                processed[key] = info[key]


class OSInfoRule(Rule):
    """``os_name`` and ``os_version`` from the dump."""

    def action(self, crash: Crash) -> None:
        info = _system_info(crash)
        crash.processed["os_name"] = _text(info.get("os")) or UNKNOWN_OS
        version = _text(info.get("os_ver"))
        if version:
            crash.processed["os_version"] = version


# Android_CPU_ABI names for the architectures the stack walker names otherwise.
ANDROID_ABIS = {"armeabi-v7a": "arm", "arm64-v8a": "arm64", "x86_64": "amd64"}


class AndroidCPUInfoRule(Rule):
    """Without a CPU from the dump, Android's ``Android_CPU_ABI`` names it."""

    def predicate(self, crash: Crash) -> bool:
        return (crash.processed.get("cpu_arch") == UNKNOWN_CPU
                and _text(crash.raw_crash.get("Android_CPU_ABI")) is not None)

    def action(self, crash: Crash) -> None:
        abi = _text(crash.raw_crash["Android_CPU_ABI"])
        crash.processed["cpu_arch"] = ANDROID_ABIS.get(abi, abi)


class AndroidOSInfoRule(Rule):
    """An Android crash (or one of unknown OS with ``Android_Version``): the OS version is
    the SDK level, the number that starts ``Android_Version`` (``"34 (REL)"``)."""

    def predicate(self, crash: Crash) -> bool:
        name = str(crash.processed.get("os_name") or UNKNOWN_OS).lower()
        return name in ("unknown", "android") and \
            _text(crash.raw_crash.get("Android_Version")) is not None

    def action(self, crash: Crash) -> None:
        crash.processed["os_name"] = "Android"
        sdk = _text(crash.raw_crash["Android_Version"]).split(" ")[0]
        if sdk.isdigit():
            crash.processed["os_version"] = sdk
        else:
            crash.note(f"Android_Version {sdk!r} does not start with an SDK level")


class PlatformInfoRule(Rule):
    """What the dump did not say, from the annotations some reporters send instead (and
    Crashpad's ``plat``): ``CPUArchitecture``, ``CPUInfo``, ``OS``, ``OSVersion``. Crashes
    without a minidump (Java ones) get their platform this way."""

    def action(self, crash: Crash) -> None:
        raw, processed = crash.raw_crash, crash.processed
        fallbacks = (("cpu_arch", UNKNOWN_CPU, ("CPUArchitecture",)),
                     ("cpu_info", None, ("CPUInfo",)),
                     ("os_name", UNKNOWN_OS, ("OS", "plat")),
                     ("os_version", None, ("OSVersion",)))
        for field, unknown, names in fallbacks:
            if processed.get(field) not in (None, "", unknown):
                continue
            value = next((v for n in names if (v := _text(raw.get(n)))), None)
            if value is not None:
                processed[field] = value


_MAJOR_MINOR = re.compile(r"^(\d+)\.(\d+)")
WINDOWS_NAMES = {
    "3.5": "Windows NT", "4.0": "Windows NT", "4.1": "Windows 98", "4.9": "Windows Me",
    "5.0": "Windows 2000", "5.1": "Windows XP", "5.2": "Windows Server 2003",
    "6.0": "Windows Vista", "6.1": "Windows 7", "6.2": "Windows 8", "6.3": "Windows 8.1",
    "10.0": "Windows 10",
}
WINDOWS_11_BUILD = 21996  # Windows 11 still says 10.0; its builds start here


def windows_name(version: str) -> str | None:
    match = _MAJOR_MINOR.match(version)
    if match is None:
        return None
    major_minor = f"{match.group(1)}.{match.group(2)}"
    build = re.match(r"^\d+\.\d+\.(\d+)", version)
    if major_minor == "10.0" and build and int(build.group(1)) >= WINDOWS_11_BUILD:
        return "Windows 11"
    return WINDOWS_NAMES.get(major_minor, "Windows Unknown")


def macos_name(version: str) -> str | None:
    match = _MAJOR_MINOR.match(version)
    if match is None:
        return None
    major, minor = int(match.group(1)), int(match.group(2))
    if major >= 11:  # Big Sur on: macOS <major>
        return f"macOS {major}"
    if major == 10:
        return f"OS X 10.{minor}"
    return "OS X Unknown"


class OSPrettyVersionRule(Rule):
    """``os_pretty_version``, the OS as people say it: "Windows 11", "macOS 14", the Linux
    distribution ("Ubuntu 22.04.3 LTS", else the ``LinuxLSBDescription`` annotation),
    "Android 34"; otherwise the OS name."""

    def action(self, crash: Crash) -> None:
        processed = crash.processed
        name = _text(processed.get("os_name"))
        version = _text(processed.get("os_version")) or ""
        pretty = name
        if name is None:
            pretty = None
        elif name.startswith("Windows"):
            pretty = windows_name(version) or name
        elif name == "Mac OS X":
            pretty = macos_name(version) or name
        elif name == "Linux":
            json_dump = processed.get("json_dump")
            lsb = json_dump.get("lsb_release") if isinstance(json_dump, dict) else None
            described = _text(lsb.get("description")) if isinstance(lsb, dict) else None
            pretty = described or _text(crash.raw_crash.get("LinuxLSBDescription")) or name
        elif name == "Android":
            pretty = f"Android {version}" if version else name
        if pretty is not None:
            processed["os_pretty_version"] = pretty
