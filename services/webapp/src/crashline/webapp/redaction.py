"""Redaction by allowlist: what a caller without ``view_pii`` may see of a crash.

Anything not listed is dropped, so a new annotation or processed key stays private until
someone decides it is public. The processed-crash list comes from the field registry (every
public field's source) plus the public structure that is not searchable (the stack).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from crashline.common.fields import FIELDS

# Processed-crash keys that are public but not search fields.
PUBLIC_PROCESSED_EXTRA = (
    "crash_id", "uuid", "date_processed", "submitted_timestamp", "started_datetime",
    "completed_datetime", "success", "processor_notes", "processor_history", "signature",
    "proto_signature", "json_dump", "crashing_thread", "stackwalk_version",
    "mdsw_status_string", "truncated", "removed_fields", "client_crash_date", "crash_time",
    "java_stack_trace",
    "release_channel", "build", "product", "version", "os_name", "os_version", "cpu_arch",
    "cpu_count", "cpu_info", "reason", "address", "uptime", "install_age", "last_crash",
    "process_type", "report_type", "addons", "memory_measures",
)

# Protected parts inside public subtrees (the stack walker's output has a few).
PROTECTED_PROCESSED_PATHS = (
    "json_dump.mac_boot_args", "json_dump.soft_errors", "json_dump.lsb_release",
)

# Raw-crash annotations anyone may see (everything else, e.g. URL, Comments, metadata, PHC*,
# MozCrashReason, Breadcrumbs, JavaStackTrace, is protected).
PUBLIC_ANNOTATIONS = frozenset((
    "AbortMessage", "Accessibility", "AdapterDeviceID", "AdapterDriverVersion",
    "AdapterSubsysID", "AdapterVendorID", "Add-ons", "AddonsShouldHaveBlockedE10s",
    "Android_Board", "Android_Brand", "Android_CPU_ABI", "Android_CPU_ABI2", "Android_Device",
    "Android_Display", "Android_Fingerprint", "Android_Hardware", "Android_Manufacturer",
    "Android_Model", "Android_PackageName", "Android_Version", "AppInitDLLs",
    "ApplicationBuildID", "AsyncShutdownTimeout", "AvailablePageFile",
    "AvailablePhysicalMemory", "AvailableVirtualMemory", "BuildID", "ContainsMemoryReport",
    "CPUMicrocodeVersion", "CrashTime", "DOMFissionEnabled", "DOMIPCEnabled",
    "DistributionID", "EMCheckCompatibility", "GraphicsCriticalError", "GraphicsStartupTest",
    "Hang", "HasDeviceTouchScreen", "InstallTime", "IPCChannelError", "IPCFatalErrorMsg",
    "IPCFatalErrorProtocol", "IPCMessageName", "IPCMessageSize", "IPCShutdownState",
    "IPCSystemError", "IsGarbageCollecting", "LastCrash", "Notes", "OOMAllocationSize",
    "ProcessType", "ProductID", "ProductName", "ReleaseChannel", "SafeMode",
    "SecondsSinceLastCrash", "ShutdownProgress", "StartupCrash", "StartupTime",
    "SubmittedFrom", "SystemMemoryUsePercentage", "Theme", "TotalPageFile",
    "TotalPhysicalMemory", "TotalVirtualMemory", "UptimeTS", "useragent_locale",
    "UtilityActorsName", "Vendor", "Version", "WindowsErrorReporting",
    "XPCOMSpinEventLoopStack", "submitted_timestamp", "uuid",
))


def _insert(tree: dict, path: list[str]) -> None:
    head, rest = path[0], path[1:]
    if tree.get(head) is True:
        return
    if not rest:
        tree[head] = True
        return
    _insert(tree.setdefault(head, {}), rest)


@lru_cache(maxsize=1)
def processed_allowlist() -> dict:
    tree: dict = {}
    for fdef in FIELDS:
        if fdef.public:
            _insert(tree, fdef.source_path.split("."))
    for key in PUBLIC_PROCESSED_EXTRA:
        _insert(tree, [key])
    return tree


@lru_cache(maxsize=1)
def processed_denylist() -> tuple[tuple[str, ...], ...]:
    paths = [tuple(f.source_path.split(".")) for f in FIELDS if not f.public]
    paths += [tuple(p.split(".")) for p in PROTECTED_PROCESSED_PATHS]
    return tuple(paths)


def _allowed(doc: Mapping, tree: Mapping) -> dict:
    kept: dict = {}
    for key, rule in tree.items():
        if key not in doc:
            continue
        if rule is True:
            kept[key] = doc[key]
        elif isinstance(doc[key], Mapping):
            kept[key] = _allowed(doc[key], rule)
    return kept


def _without(doc: dict, path: tuple[str, ...]) -> dict:
    head, rest = path[0], path[1:]
    if head not in doc:
        return doc
    if not rest:
        return {k: v for k, v in doc.items() if k != head}
    if not isinstance(doc[head], Mapping):
        return doc
    return {**doc, head: _without(dict(doc[head]), rest)}


def redact_processed(processed: Mapping) -> dict:
    doc = _allowed(processed, processed_allowlist())
    for path in processed_denylist():
        doc = _without(doc, path)
    return doc


def redact_raw(raw: Mapping) -> dict:
    return {k: v for k, v in raw.items() if k in PUBLIC_ANNOTATIONS}
