"""The field registry: the one list of processed-crash fields that are indexed and searchable.

Everything about a field is derived from here: its search-engine mapping, the value clean-up
before indexing, which Super Search operators it accepts, who may see it (protected unless
``public``), the search form and the data dictionary, and which annotations the processor
copies into it (``annotations``). Add a field by adding one entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum


class FieldType(StrEnum):
    STRING = "string"    # exact keyword plus a full-text ``.full`` sub-field
    ENUM = "enum"        # keyword: exact values, facets
    INTEGER = "integer"  # 32-bit
    LONG = "long"        # 64-bit
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"


PUBLIC = "public"
VIEW_PII = "view_pii"

# Super Search operators (see the webapp's query parser for their meaning).
STRING_OPERATORS = ("has", "=", "~", "^", "$", "@", "__null__")
ENUM_OPERATORS = ("has", "=", "~", "^", "$", "@", "__null__")
NUMBER_OPERATORS = ("has", "=", ">", ">=", "<", "<=", "__null__")
DATE_OPERATORS = (">", ">=", "<", "<=", "=", "__null__")
BOOLEAN_OPERATORS = ("__true__", "__null__")

_OPERATORS = {
    FieldType.STRING: STRING_OPERATORS,
    FieldType.ENUM: ENUM_OPERATORS,
    FieldType.INTEGER: NUMBER_OPERATORS,
    FieldType.LONG: NUMBER_OPERATORS,
    FieldType.FLOAT: NUMBER_OPERATORS,
    FieldType.BOOLEAN: BOOLEAN_OPERATORS,
    FieldType.DATE: DATE_OPERATORS,
}


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: FieldType
    description: str
    source: str = ""          # dotted path in the processed crash; defaults to ``name``
    public: bool = False      # protected (needs view_pii) unless marked public
    returnable: bool = True   # may be asked for in ``_columns``
    facetable: bool = True    # may be used in ``_facets`` / ``_aggs``
    category: str = "crash"   # groups fields in the search form and data dictionary
    examples: tuple[str, ...] = field(default_factory=tuple)
    # Raw-crash annotations the processor copies into ``source_path``, the first present
    # wins: the Breakpad/Mozilla name first, then Crashpad's (``prod``, ``ver``...). Empty for
    # fields a processor rule computes (stack walk, signature, dates...).
    annotations: tuple[str, ...] = ()

    @property
    def source_path(self) -> str:
        return self.source or self.name

    @property
    def permission(self) -> str:
        return PUBLIC if self.public else VIEW_PII

    @property
    def operators(self) -> tuple[str, ...]:
        return _OPERATORS[self.type]


def _f(name: str, type_: FieldType, description: str, **kw) -> FieldDef:
    return FieldDef(name=name, type=type_, description=description, **kw)


S, E, I, L, F, B, D = (
    FieldType.STRING, FieldType.ENUM, FieldType.INTEGER, FieldType.LONG,
    FieldType.FLOAT, FieldType.BOOLEAN, FieldType.DATE,
)

FIELDS: tuple[FieldDef, ...] = (
    # identity and dates
    _f("uuid", E, "The crash id.", source="uuid", public=True, facetable=False),
    _f("date", D, "When the collector received the crash (UTC).", source="date_processed",
       public=True),
    _f("processed_date", D, "When the crash was last processed.", source="completed_datetime",
       public=True, facetable=False),
    # grouping
    _f("signature", S, "The crash signature: the frames that group crashes into one bug.",
       public=True),
    _f("proto_signature", S, "All normalised frames of the crashing thread.", public=True,
       facetable=False),
    # product
    _f("product", E, "Product name (ProductName annotation).", public=True,
       annotations=("ProductName", "prod")),
    _f("version", E, "Product version (Version annotation).", public=True,
       annotations=("Version", "ver")),
    _f("release_channel", E, "Release channel (ReleaseChannel annotation).", public=True,
       annotations=("ReleaseChannel", "channel")),
    _f("build_id", L, "Build id as a number, YYYYMMDDhhmmss (BuildID annotation).",
       source="build", public=True, annotations=("BuildID",)),
    _f("process_type", E, "parent, content, gpu, ... (ProcessType annotation).", public=True,
       annotations=("ProcessType", "ptype")),
    # platform
    _f("os_name", E, "Operating system name.", public=True),
    _f("os_version", S, "Operating system version.", public=True),
    _f("cpu_arch", E, "CPU architecture.", public=True),
    _f("cpu_count", I, "Number of CPUs.", public=True),
    # crash
    _f("reason", S, "Crash reason (e.g. EXCEPTION_ACCESS_VIOLATION_WRITE, SIGSEGV).",
       public=True),
    _f("address", E, "Crash address.", public=True),
    _f("crashing_thread", I, "Index of the crashing thread.", public=True),
    _f("uptime", L, "Seconds the process ran before it crashed.", public=True),
    _f("install_age", L, "Seconds since this version was installed.", public=True),
    _f("mdsw_status_string", E, "Stack walker status (OK or why it failed).", public=True),
    # protected
    _f("user_comments", S, "Comments the user typed into the crash reporter.",
       facetable=False, annotations=("Comments",)),
    _f("url", S, "URL being visited (URL annotation).", facetable=False, annotations=("URL",)),
    _f("email", S, "Email address the user gave.", facetable=False, annotations=("Email",)),
    # -- more searchable processed fields (names as the reference's Super Search) ---------
    # product and build
    _f("major_version", I, "Major part of the version (120 for 120.0.1).", public=True),
    _f("application_build_id", S, "Build id of the application (may differ from the "
       "platform's build id).", public=True, annotations=("ApplicationBuildID",)),
    _f("vendor", S, "Vendor annotation.", public=True, annotations=("Vendor",)),
    _f("distribution_id", S, "Distribution id (repackaged builds).", public=True),
    _f("report_type", E, "crash, or hang when the crash looks like a hang.", public=True),
    _f("submitted_from", S, "Where the report was submitted from (client, auto, ...).",
       public=True, annotations=("SubmittedFrom",)),
    _f("useragent_locale", S, "Locale of the application UI.", public=True,
       annotations=("useragent_locale",)),
    _f("theme", S, "Name of the theme in use.", public=True, annotations=("Theme",)),
    _f("safe_mode", B, "The application ran in safe mode.", public=True, annotations=("SafeMode",)),
    _f("em_check_compatibility", B, "Add-on compatibility checking was enabled.",
       public=True, annotations=("EMCheckCompatibility",)),
    _f("addons_checked", B, "The add-on list was checked.", public=True),
    _f("addons", S, "Installed add-ons, id:version separated by commas.", public=True,
       facetable=False, annotations=("Add-ons",)),
    # platform, CPU, memory
    _f("os_pretty_version", S, "Operating system and version, readable.", public=True),
    _f("cpu_info", S, "CPU family, model and stepping.", public=True),
    _f("cpu_microcode_version", S, "CPU microcode version.", public=True),
    _f("total_physical_memory", L, "Total physical memory in bytes.", public=True,
       annotations=("TotalPhysicalMemory",)),
    _f("available_physical_memory", L, "Available physical memory in bytes.", public=True,
       annotations=("AvailablePhysicalMemory",)),
    _f("total_virtual_memory", L, "Total virtual memory in bytes.", public=True,
       annotations=("TotalVirtualMemory",)),
    _f("available_virtual_memory", L, "Available virtual memory in bytes.", public=True,
       annotations=("AvailableVirtualMemory",)),
    _f("total_page_file", L, "Total page file size in bytes.", public=True,
       annotations=("TotalPageFile",)),
    _f("available_page_file", L, "Available page file size in bytes.", public=True,
       annotations=("AvailablePageFile",)),
    _f("system_memory_use_percentage", I, "Percentage of system memory in use.",
       public=True, annotations=("SystemMemoryUsePercentage",)),
    _f("oom_allocation_size", L, "Size of the allocation that failed (out of memory).",
       public=True, annotations=("OOMAllocationSize",)),
    _f("contains_memory_report", B, "The crash has a memory report.", public=True,
       annotations=("ContainsMemoryReport",)),
    _f("has_device_touch_screen", B, "The device has a touch screen.", public=True,
       annotations=("HasDeviceTouchScreen",)),
    # Android
    _f("android_board", S, "Android board.", public=True, annotations=("Android_Board",)),
    _f("android_brand", S, "Android brand.", public=True, annotations=("Android_Brand",)),
    _f("android_cpu_abi", S, "Android CPU ABI.", public=True, annotations=("Android_CPU_ABI",)),
    _f("android_cpu_abi2", S, "Android secondary CPU ABI.", public=True,
       annotations=("Android_CPU_ABI2",)),
    _f("android_device", S, "Android device.", public=True, annotations=("Android_Device",)),
    _f("android_display", S, "Android display build.", public=True,
       annotations=("Android_Display",)),
    _f("android_fingerprint", S, "Android build fingerprint.", public=True,
       annotations=("Android_Fingerprint",)),
    _f("android_hardware", S, "Android hardware.", public=True, annotations=("Android_Hardware",)),
    _f("android_manufacturer", S, "Android manufacturer.", public=True,
       annotations=("Android_Manufacturer",)),
    _f("android_model", S, "Android model.", public=True, annotations=("Android_Model",)),
    _f("android_packagename", S, "Android package name.", public=True,
       annotations=("Android_PackageName",)),
    _f("android_version", S, "Android version and SDK level.", public=True,
       annotations=("Android_Version",)),
    # graphics
    _f("adapter_vendor_id", S, "Graphics adapter vendor id.", public=True,
       annotations=("AdapterVendorID",)),
    _f("adapter_device_id", S, "Graphics adapter device id.", public=True,
       annotations=("AdapterDeviceID",)),
    _f("adapter_subsys_id", S, "Graphics adapter subsystem id.", public=True,
       annotations=("AdapterSubsysID",)),
    _f("adapter_driver_version", S, "Graphics driver version.", public=True,
       annotations=("AdapterDriverVersion",)),
    _f("graphics_critical_error", S, "Critical graphics errors logged.", public=True,
       annotations=("GraphicsCriticalError",)),
    _f("graphics_startup_test", B, "The crash happened in the graphics startup test.",
       public=True, annotations=("GraphicsStartupTest",)),
    _f("app_notes", S, "Notes the application attached (graphics, features).", public=True,
       annotations=("Notes",)),
    _f("app_init_dlls", S, "DLLs injected through AppInit_DLLs.", public=True,
       annotations=("AppInitDLLs",)),
    # crash details
    _f("crashing_thread_name", S, "Name of the crashing thread.", public=True),
    _f("last_error_value", S, "Last Windows error value of the crashing thread.",
       public=True),
    _f("thread_count", I, "Number of threads in the process.", public=True),
    _f("possible_bit_flips_max_confidence", I, "Highest confidence (0-100) that the "
       "crash address is a bit flip.", public=True),
    _f("crash_inconsistencies", S, "Inconsistencies the stack walker found.", public=True),
    _f("moz_crash_reason", S, "Assertion message (MozCrashReason, sanitised).", public=True),
    _f("java_stack_trace", S, "Java stack trace without the exception message.",
       public=True),
    _f("ipc_channel_error", S, "IPC channel error.", public=True,
       annotations=("ipc_channel_error",)),
    _f("ipc_fatal_error_msg", S, "IPC fatal error message.", public=True,
       annotations=("IPCFatalErrorMsg",)),
    _f("ipc_fatal_error_protocol", S, "IPC fatal error protocol.", public=True,
       annotations=("IPCFatalErrorProtocol",)),
    _f("ipc_message_name", S, "Name of the IPC message being handled.", public=True,
       annotations=("IPCMessageName",)),
    _f("ipc_message_size", L, "Size of the IPC message being handled.", public=True,
       annotations=("IPCMessageSize",)),
    _f("ipc_shutdown_state", S, "IPC shutdown state.", public=True,
       annotations=("IPCShutdownState",)),
    _f("ipc_system_error", I, "IPC system error code.", public=True,
       annotations=("IPCSystemError",)),
    _f("async_shutdown_timeout", S, "What blocked shutdown (shutdown hang).", public=True,
       annotations=("AsyncShutdownTimeout",)),
    _f("shutdown_progress", S, "Shutdown phase when the crash happened.", public=True,
       annotations=("ShutdownProgress",)),
    _f("is_garbage_collecting", B, "The JavaScript garbage collector was running.",
       public=True, annotations=("IsGarbageCollecting",)),
    _f("startup_crash", B, "The crash happened during startup.", public=True,
       annotations=("StartupCrash",)),
    _f("accessibility", B, "Accessibility services were active.", public=True),
    _f("dom_fission_enabled", B, "Site isolation (Fission) was enabled.", public=True,
       annotations=("DOMFissionEnabled",)),
    _f("dom_ipc_enabled", B, "Multi-process was enabled.", public=True,
       annotations=("DOMIPCEnabled",)),
    _f("windows_error_reporting", B, "The crash came through Windows Error Reporting.",
       public=True, annotations=("WindowsErrorReporting",)),
    _f("utility_actors_name", S, "Actors running in the utility process.", public=True,
       annotations=("UtilityActorsName",)),
    _f("xpcom_spin_event_loop_stack", S, "Nested event loops when the crash happened.",
       public=True, annotations=("XPCOMSpinEventLoopStack",)),
    # times
    _f("install_time", L, "When this version was installed (seconds since the epoch).",
       public=True, annotations=("InstallTime",)),
    _f("crash_time", L, "When the client crashed (seconds since the epoch).", public=True,
       annotations=("CrashTime",)),
    _f("startup_time", L, "When the process started (seconds since the epoch).",
       public=True, annotations=("StartupTime",)),
    _f("last_crash", L, "Seconds since the previous crash.", public=True,
       annotations=("SecondsSinceLastCrash",)),
    # stack and modules
    _f("topmost_filenames", S, "Source files of the topmost frames.", public=True),
    _f("modules_in_stack", S, "Modules in the crashing thread (file/debugid;...).",
       public=True),
    _f("missing_symbols", S, "Modules without symbols (file/version/debugid;...).",
       public=True),
    _f("minidump_sha256_hash", S, "SHA-256 of the main minidump.", public=True,
       facetable=False),
    _f("stackwalk_version", S, "Version of the stack walker.", public=True),
    _f("processor_notes", S, "Notes the processor wrote while processing.", public=True,
       facetable=False),
    _f("crash_report_keys", S, "Annotation and dump names in the report.", public=True),
    _f("additional_minidumps", S, "Names of dumps other than the main one.", public=True),
    # memory measures (memory report)
    *(
        _f(f"memory_{name}", L, f"Memory report: {name.replace('_', ' ')} (bytes or count).",
           source=f"memory_measures.{name}", public=True, category="memory")
        for name in (
            "explicit", "gfx_textures", "ghost_windows", "heap_allocated", "heap_overhead",
            "heap_unclassified", "host_object_urls", "images", "js_main_runtime", "private",
            "resident", "resident_unique", "system_heap_allocated", "top_none_detached",
            "vsize", "vsize_max_contiguous",
        )
    ),
    # more protected fields
    _f("collector_notes", S, "Notes the collector wrote on receipt.",
       source="collector_metadata.collector_notes", facetable=False),
    _f("dumper_error", S, "Error of the in-process crash dumper.", facetable=False,
       annotations=("DumperError",)),
    _f("glean_client_id", S, "Telemetry client id.", facetable=False,
       annotations=("GleanClientId",)),
    _f("gmp_library_path", S, "Path of the media plugin library.", facetable=False,
       annotations=("GMPLibraryPath",)),
    _f("has_guard_page_access", B, "The crash touched a guard page."),
    _f("java_stack_trace_raw", S, "Java stack trace including the exception message.",
       facetable=False),
    _f("mac_boot_args", S, "macOS boot arguments.", facetable=False),
    _f("moz_crash_reason_raw", S, "Unsanitised assertion message.", facetable=False,
       annotations=("MozCrashReason",)),
    _f("phc_alloc_stack", S, "PHC: allocation stack.", facetable=False,
       annotations=("PHCAllocStack",)),
    _f("phc_base_address", S, "PHC: base address of the allocation.",
       annotations=("PHCBaseAddress",)),
    _f("phc_free_stack", S, "PHC: free stack.", facetable=False, annotations=("PHCFreeStack",)),
    _f("phc_kind", S, "PHC: kind of memory error.", annotations=("PHCKind",)),
    _f("phc_usable_size", L, "PHC: usable size of the allocation.", annotations=("PHCUsableSize",)),
    _f("remote_type", S, "Remote type of a content process.", annotations=("RemoteType",)),
    _f("soft_errors", S, "Soft errors of the stack walker (JSON).", facetable=False),
)

REGISTRY: dict[str, FieldDef] = {f.name: f for f in FIELDS}


def get_field(name: str) -> FieldDef | None:
    return REGISTRY.get(name)


def public_fields() -> Iterator[FieldDef]:
    return (f for f in FIELDS if f.public)
