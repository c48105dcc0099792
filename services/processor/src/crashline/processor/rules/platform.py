"""Operating system and CPU, from the minidump's system info."""

from __future__ import annotations

from crashline.processor.pipeline import Crash, Rule


def _system_info(crash: Crash) -> dict:
    json_dump = crash.processed.get("json_dump")
    info = json_dump.get("system_info") if isinstance(json_dump, dict) else None
    return info if isinstance(info, dict) else {}


class CPUInfoRule(Rule):
    def action(self, crash: Crash) -> None:
        info = _system_info(crash)
        processed = crash.processed
        processed["cpu_arch"] = info.get("cpu_arch") or "unknown"
        for key in ("cpu_info", "cpu_count", "cpu_microcode_version"):
            if info.get(key) is not None:
                processed[key] = info[key]


class OSInfoRule(Rule):
    """``os_name``/``os_version`` from the dump; without one, from Crashpad's ``plat`` or the
    ``OS``/``OSVersion`` annotations some reporters send."""

    def action(self, crash: Crash) -> None:
        info = _system_info(crash)
        raw = crash.raw_crash
        name = info.get("os") or raw.get("OS") or raw.get("plat")
        version = info.get("os_ver") or raw.get("OSVersion")
        crash.processed["os_name"] = name if isinstance(name, str) and name else "Unknown"
        if isinstance(version, str) and version:
            crash.processed["os_version"] = version
