"""The field registry: the processed-crash fields that are indexed and searchable
(:data:`FIELDS`), and every other key of a processed crash down to nested ones
(:data:`PROCESSED_KEYS`).

Everything about a field is derived from here: its search-engine mapping, the value clean-up
before indexing, which Super Search operators it accepts, who may see it (protected unless
``public``), the search form and the data dictionary, and which annotations the processor
copies into it (``annotations``). Add a field by adding one entry.

Who may see what is an allowlist over the whole processed crash, :func:`processed_tree`:
a key (at any depth) that neither list declares public is protected, so a key the stack
walker starts to emit stays hidden from callers without ``view_pii`` until it is declared.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache


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

# Crashpad's short annotation names, copied after the Breakpad/Mozilla name of a field.
CRASHPAD_ANNOTATIONS = frozenset({"prod", "ver", "channel", "ptype", "plat"})

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
    # Other names the API accepts for this field (answers use ``name``).
    aliases: tuple[str, ...] = ()
    # The reference (Socorro) has this field: ``source_path`` is its processed-crash key and
    # the first annotation its source annotation (checked against its schemas by the tests).
    # False for Crashline's own fields.
    reference: bool = True

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
    _f("productid", S, "Application id (ProductID annotation).", public=True,
       annotations=("ProductID",)),
    # platform
    _f("platform", E, "Operating system name.", source="os_name", public=True,
       aliases=("os_name",)),
    _f("platform_version", S, "Operating system version.", source="os_version", public=True,
       aliases=("os_version",)),
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
    _f("abort_message", S, "Message of a deliberate abort (AbortMessage annotation).",
       public=True, facetable=False),
    _f("hang", E, "Set when a hang was turned into this crash: ui or shutdown (Hang "
       "annotation).", public=True, annotations=("Hang",)),
    _f("shutdown_reason", E, "Why the application was shutting down (ShutdownReason "
       "annotation).", public=True, annotations=("ShutdownReason",)),
    _f("uptime_ts", F, "Seconds the process ran, with fractions (UptimeTS annotation).",
       public=True, annotations=("UptimeTS",)),
    _f("throttleable", B, "The reporter lets the collector throttle this report "
       "(Throttleable annotation).", public=True, annotations=("Throttleable",)),
    # protected
    _f("user_comments", S, "Comments the user typed into the crash reporter.",
       facetable=False, annotations=("Comments",)),
    _f("url", S, "URL being visited (URL annotation).", facetable=False, annotations=("URL",)),
    _f("email", S, "Email address the user gave.", facetable=False, annotations=("Email",),
       reference=False),
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
    _f("theme", S, "Name of the theme in use.", public=True, annotations=("Theme",),
       reference=False),
    _f("safe_mode", B, "The application ran in safe mode.", public=True, annotations=("SafeMode",)),
    _f("em_check_compatibility", B, "Add-on compatibility checking was enabled.",
       public=True, annotations=("EMCheckCompatibility",)),
    _f("addons_checked", B, "The add-on list was checked.", public=True),
    _f("addons", S, "Installed add-ons, id:version separated by commas.", public=True,
       facetable=False, annotations=("Add-ons",)),
    # platform, CPU, memory
    _f("platform_pretty_version", S, "Operating system and version, readable.",
       source="os_pretty_version", public=True, aliases=("os_pretty_version",)),
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
       annotations=("ContainsMemoryReport",), reference=False),
    _f("mac_memory_pressure", E, "macOS memory pressure when it crashed: Normal, Warning, "
       "Critical... (MacMemoryPressure annotation).", public=True,
       annotations=("MacMemoryPressure",)),
    _f("mac_crash_info", S, "macOS __crash_info records of the dump (JSON).", public=True,
       facetable=False),
    _f("has_mac_boot_args", B, "The dump holds macOS boot arguments (see mac_boot_args).",
       public=True),
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
    _f("missing_symbol_files", E, "Symbol files the stack walker looked for and did not "
       "find, as debug_file/debug_id (what to upload; see the missing-symbols report).",
       public=True, reference=False),
    _f("signature_moved_from", S, "The signature before a reprocessing changed it (symbols "
       "that arrived late, new signature lists).", category="crash", public=True,
       reference=False),
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
ALIASES: dict[str, str] = {alias: f.name for f in FIELDS for alias in f.aliases}
if set(ALIASES) & set(REGISTRY) or len(ALIASES) != sum(len(f.aliases) for f in FIELDS):
    raise ValueError("a field alias is another field's name, or is given twice")


def get_field(name: str) -> FieldDef | None:
    """The field called ``name``, or of which ``name`` is an alias."""
    return REGISTRY.get(ALIASES.get(name, name))


def public_fields() -> Iterator[FieldDef]:
    return (f for f in FIELDS if f.public)


# -- the rest of the processed crash ----------------------------------------------------------
@dataclass(frozen=True)
class KeyDef:
    """A processed-crash key that is not a search field, at any depth.

    ``path`` joins keys with dots; ``[]`` after a key means its value is a list and the rest
    of the path applies to each item; a key with ``*`` is a pattern (``registers.*``: every
    key of ``registers``). Keys are protected unless ``public``.
    """

    path: str
    description: str
    public: bool = False
    reference: bool = True  # the reference's schema has this key (False: Crashline's own)


def _keys(prefix: str, entries: Iterable[tuple], reference: bool = True) -> tuple[KeyDef, ...]:
    """``(path, description[, public])`` entries under ``prefix``; public unless said."""
    return tuple(KeyDef(f"{prefix}{e[0]}", e[1], e[2] if len(e) > 2 else True, reference)
                 for e in entries)


# One stack frame of the stack walker (rust-minidump's minidump-stackwalk --json).
FRAME_KEYS = (
    ("frame", "Index of the frame in its thread."),
    ("trust", "How the frame was found: context, cfi, frame_pointer or scan."),
    ("offset", "Instruction address."),
    ("module", "Module the address is in."),
    ("module_offset", "Address relative to the module's start."),
    ("function", "Function name (with symbols)."),
    ("function_offset", "Address relative to the function's start."),
    ("file", "Source file."),
    ("line", "Source line."),
    ("missing_symbols", "The module's symbols were not found."),
    ("inlines[].function", "A function inlined into this frame."),
    ("inlines[].file", "Source file of the inlined function."),
    ("inlines[].line", "Source line of the inlined function."),
    ("unloaded_modules[].module", "An unloaded module the address falls in."),
    ("unloaded_modules[].offsets[]", "The address relative to each load of that module."),
    ("truncated.msg", "Marks where the processor cut an overlong stack, and how much."),
    ("registers.*", "Register values: can hold pointers into user data.", False),
)
THREAD_KEYS = (
    ("thread_name", "Thread name."),
    ("last_error_value", "Windows GetLastError() value of the thread."),
    ("frame_count", "Frames before any truncation."),
    ("truncated", "The processor cut this stack."),
    *((f"frames[].{path}", *rest) for path, *rest in FRAME_KEYS),
)
MODULE_KEYS = (
    ("filename", "File name of the module."),
    ("base_addr", "First address of the module."),
    ("end_addr", "Address just past the module."),
    ("code_id", "Code identifier."),
    ("cert_subject", "Who signed the module, if known."),
)
# The stack walker's output, as kept in ``json_dump`` (and in each additional dump's).
JSON_DUMP_KEYS = (
    ("status", "OK, or why the walk failed."),
    ("pid", "Process id of the crashed process."),
    ("thread_count", "Threads in the process."),
    ("main_module", "Index of the main module in modules."),
    ("modules_contains_cert_info", "Some modules carry signing information."),
    ("crash_info.type", "Crash reason (exception or signal)."),
    ("crash_info.address", "Crash address."),
    ("crash_info.crashing_thread", "Index of the crashing thread."),
    ("crash_info.assertion", "Assertion message, if an assertion caused the crash."),
    ("crash_info.instruction", "The crashing instruction."),
    ("crash_info.crash_inconsistencies[]", "Disagreements between reason, address and "
                                            "instruction."),
    ("crash_info.memory_accesses[].address", "Memory the crashing instruction accessed."),
    ("crash_info.memory_accesses[].size", "Size of that access."),
    ("crash_info.memory_accesses[].is_likely_guard_page", "The access hit a guard page "
                                                           "(a buffer overflow).", False),
    ("crash_info.possible_bit_flips[].address", "The address a bit flip may have changed."),
    ("crash_info.possible_bit_flips[].confidence", "How likely that is (0 to 1)."),
    ("crash_info.possible_bit_flips[].source_register", "Register the address came from."),
    *((f"crash_info.possible_bit_flips[].details.{name}", f"Bit-flip heuristic: {name}.")
      for name in ("was_non_canonical", "is_null", "was_low", "poison_registers",
                   "nearby_registers")),
    *((f"crashing_thread.{path}", *rest) for path, *rest in THREAD_KEYS),
    ("crashing_thread.threads_index", "Index of the crashing thread in threads."),
    *((f"threads[].{path}", *rest) for path, *rest in THREAD_KEYS),
    *((f"modules[].{path}", *rest) for path, *rest in MODULE_KEYS),
    ("modules[].debug_file", "Debug file name (the symbol file's name)."),
    ("modules[].debug_id", "Debug identifier (the symbol file's version)."),
    ("modules[].version", "Module version."),
    ("modules[].missing_symbols", "Symbols were looked for and not found."),
    ("modules[].loaded_symbols", "Symbols were loaded."),
    ("modules[].corrupt_symbols", "The symbol file could not be used."),
    ("modules[].symbol_url", "Where the symbols came from."),
    *((f"unloaded_modules[].{path}", *rest) for path, *rest in MODULE_KEYS),
    *((f"system_info.{name}", f"System information: {name}.")
      for name in ("os", "os_ver", "cpu_arch", "cpu_info", "cpu_count",
                   "cpu_microcode_version")),
    *((f"lsb_release.{name}", f"Linux distribution: {name}.")
      for name in ("id", "release", "codename", "description")),
    ("mac_crash_info.num_records", "Records in macOS's __crash_info."),
    *((f"mac_crash_info.records[].{name}", f"macOS crash info: {name}.")
      for name in ("thread", "dialog_mode", "abort_cause", "message", "message2",
                   "signature_string", "backtrace", "module")),
    ("mac_boot_args", "macOS boot arguments: can identify a machine.", False),
    ("soft_errors", "Errors of the crash reporter while it wrote the dump.", False),
)
# The fields of one walked dump, at the top level for the main dump and under its name for
# each additional one.
DUMP_KEYS = (
    ("mdsw_status_string", "Stack walker status."),
    ("stackwalk_version", "Stack walker version."),
    ("mdsw_return_code", "Stack walker exit code.", False),
    ("mdsw_stderr", "Stack walker log (paths of the processing host).", False),
    *((f"json_dump.{path}", *rest) for path, *rest in JSON_DUMP_KEYS),
)

PROCESSED_KEYS: tuple[KeyDef, ...] = (
    *_keys("", (
        ("crash_id", "The crash id."),
        ("success", "Processing finished."),
        ("started_datetime", "When the last processing started."),
        ("client_crash_date", "When the client crashed (from CrashTime)."),
        ("processor_history[]", "Notes of earlier processings."),
        ("signature_debug", "How the signature was built.", False),
        ("collector_metadata.*", "What the collector recorded on receipt.", False),
        ("memory_report", "The memory report: can hold URLs.", False),
        ("memory_report_error", "Why the memory report could not be read.", False),
        ("breadcrumbs", "Events logged before the crash.", False),
    )),
    *_keys("", (
        ("truncated", "Some stack was cut (too many frames)."),
        ("removed_fields[]", "Fields the search engine refused for this crash."),
    ), reference=False),
    *_keys("", DUMP_KEYS),
    *_keys("upload_file_minidump_*.", DUMP_KEYS),
    *_keys("java_exception.exception.values[].stacktrace.", (
        ("type", "Java exception class."),
        ("module", "Java package of the exception class."),
        ("value", "Exception message: can hold user data.", False),
        *((f"frames[].{name}", f"Java frame: {name}.")
          for name in ("module", "function", "filename", "lineno", "in_app")),
    )),
)


@dataclass
class Node:
    """One key of the allowlist tree (the root is the processed crash itself)."""

    public: bool | None = None  # None: not declared, only a container of declared keys
    children: dict[str, Node] = field(default_factory=dict)
    items: Node | None = None  # each item, when the value is a list (``key[]``)
    visible: bool = False  # public, or a container of public keys

    def child(self, key: str) -> Node | None:
        node = self.children.get(key)
        if node is None:
            for pattern, candidate in self.children.items():
                if "*" in pattern and fnmatch.fnmatchcase(key, pattern):
                    return candidate
        return node


def _split(path: str) -> list[tuple[str, int]]:
    """``"a[].b"`` -> ``[("a", 1), ("b", 0)]``: each key and how many ``[]`` follow it."""
    parts = []
    for segment in path.split("."):
        key = segment.rstrip("[]")
        depth, rest = divmod(len(segment) - len(key), 2)
        if not key or rest or segment[len(key):] != "[]" * depth:
            raise ValueError(f"bad key path {path!r}")
        parts.append((key, depth))
    return parts


def build_tree(declared: Iterable[tuple[str, bool]]) -> Node:
    """The allowlist tree of ``(path, public)`` declarations. A path declared twice must
    agree with itself, and nothing under a protected key can be public."""
    root = Node()
    for path, public in declared:
        node = root
        for key, depth in _split(path):
            node = node.children.setdefault(key, Node())
            for _ in range(depth):
                node.items = node.items or Node()
                node = node.items
        if node.public is not None and node.public != public:
            raise ValueError(f"{path} is declared both public and protected")
        node.public = public

    def settle(node: Node, path: str, inside_protected: bool) -> bool:
        if inside_protected and node.public:
            raise ValueError(f"{path} is public inside a protected key")
        protected = inside_protected or node.public is False
        below = [settle(child, f"{path}.{key}".lstrip("."), protected)
                 for key, child in node.children.items()]
        if node.items is not None:
            below.append(settle(node.items, f"{path}[]", protected))
        node.visible = bool(node.public) or (node.public is None and any(below))
        return node.visible

    settle(root, "", False)
    return root


def declared_keys() -> Iterator[tuple[str, bool]]:
    """Every declared processed-crash path and whether it is public: search fields by their
    source, then :data:`PROCESSED_KEYS`."""
    for f in FIELDS:
        yield f.source_path, f.public
    for key in PROCESSED_KEYS:
        yield key.path, key.public


@lru_cache(maxsize=1)
def processed_tree() -> Node:
    return build_tree(declared_keys())
