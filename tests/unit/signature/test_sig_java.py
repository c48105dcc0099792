"""Java stack-trace signatures and sanitising."""

import pytest

from crashline.common.signature.java import java_trace_signature, sanitize_java_stack_trace


@pytest.mark.parametrize(
    "trace, expected, notes",
    [
        (
            "SomeJavaException: totally made up  \n"
            "at org.mozilla.lars.myInvention(larsFile.java:666)",
            "SomeJavaException: totally made up at org.mozilla.lars.myInvention(larsFile.java)",
            [],
        ),
        (
            "SomeJavaException: totally made up  \nat org.mozilla.lars.myInvention(larsFile.java)",
            "SomeJavaException: totally made up at org.mozilla.lars.myInvention(larsFile.java)",
            [],
        ),
        (
            "   SomeJavaException: "
            + "t" * 1000
            + " \nat org.mozilla.lars.myInvention(larsFile.java)",
            "SomeJavaException: at org.mozilla.lars.myInvention(larsFile.java)",
            ["dropped Java exception description due to length"],
        ),
        (
            "   SomeJavaException\nat org.mozilla.lars.myInvention(larsFile.java:1234)",
            "SomeJavaException: at org.mozilla.lars.myInvention(larsFile.java)",
            ["stack trace line 1 is not in the expected format"],
        ),
        (
            "SomeJavaException: totally made up  \n",
            "SomeJavaException: totally made up",
            ["stack trace line 2 is missing"],
        ),
        (
            "SomeJavaException: totally made up  ",
            "SomeJavaException: totally made up",
            ["stack trace line 2 is missing"],
        ),
        (
            "android.view.WindowManager$BadTokenException: Unable to add window -- token "
            "android.os.BinderProxy@406237c0 is not valid; is your activity running?\n"
            "\tat android.view.ViewRoot.setView(ViewRoot.java:533)",
            "android.view.WindowManager$BadTokenException: Unable to add window -- token "
            "android.os.BinderProxy@<addr> is not valid; is your activity running? "
            "at android.view.ViewRoot.setView(ViewRoot.java)",
            [],
        ),
        (
            "java.lang.IllegalArgumentException: Receiver not registered: "
            "org.mozilla.gecko.GeckoNetworkManager@405afea8\n"
            "\tat android.app.LoadedApk.forgetReceiverDispatcher(LoadedApk.java:610)",
            "java.lang.IllegalArgumentException: Receiver not registered: "
            "org.mozilla.gecko.GeckoNetworkManager@<addr>: "
            "at android.app.LoadedApk.forgetReceiverDispatcher(LoadedApk.java)",
            [],
        ),
        ("E: m\n\n", "E: m", ["stack trace line 2 is empty"]),
    ],
)
def test_java_trace(trace, expected, notes) -> None:
    assert java_trace_signature(trace) == (expected, notes)


@pytest.mark.parametrize("trace", [17, None, "", "\n"])
def test_bad_java_trace(trace) -> None:
    assert java_trace_signature(trace) == (
        "EMPTY: Java stack trace not in expected format",
        ["stack trace not in expected format"],
    )


def test_sanitize_drops_the_message() -> None:
    raw = "java.lang.RuntimeException: secret user@example.com\nmore secret\n\tat a.B.c(B.java:1)\n"
    assert sanitize_java_stack_trace(raw) == "java.lang.RuntimeException\n\tat a.B.c(B.java:1)"
