"""A small driver for headless Chromium over its DevTools pipe, with no extra dependency.

Chromium started with --remote-debugging-pipe reads DevTools commands (JSON, each ending in a
NUL byte) from file descriptor 3 and answers on descriptor 4. That is enough to load a page,
press the mouse at a point as a user would, type into a field, run a line of JavaScript and take
a screenshot.
"""
import base64
import json
import os
import subprocess
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--remote-debugging-pipe"]


class Browser:
    """One Chromium with one page; `with Browser(chromium, profile) as b: b.open(url) ...`."""

    def __init__(self, chromium, profile, size=(1100, 1400)):
        to_child, self._out = os.pipe()
        self._in, from_child = os.pipe()

        def descriptors():  # the child's 3 and 4, moved out of the way of each other first
            read, write = os.dup(to_child), os.dup(from_child)
            os.dup2(read, 3)
            os.dup2(write, 4)

        self.proc = subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
             "about:blank"], pass_fds=(3, 4), preexec_fn=descriptors,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child)
        os.close(from_child)
        self._pending, self._id = b"", 0
        targets = self.send("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.send("Target.attachToTarget", targetId=page["targetId"],
                                 flatten=True)["sessionId"]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.send("Browser.close")
        finally:
            self.proc.wait(timeout=30)
            os.close(self._out)
            os.close(self._in)

    def send(self, method, session=None, **params):
        """Run one DevTools command and return its result (events in between are dropped)."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._pending:
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"chromium closed the pipe during {method}")
                self._pending += chunk
            raw, _, self._pending = self._pending.partition(b"\0")
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def page(self, method, **params):
        return self.send(method, self.session, **params)

    def js(self, expression):
        """The value of a JavaScript expression in the page; a thrown error raises here."""
        reply = self.page("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in reply:
            raise RuntimeError(reply["exceptionDetails"]["exception"]["description"])
        return reply["result"].get("value")

    def open(self, url, ready="window.onebyoneReady === true", timeout=30):
        self.page("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while not self.js(f"document.readyState === 'complete' && {ready}"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not become ready ({ready})")
            time.sleep(0.05)

    def click(self, x, y):
        """Move to (x, y) in CSS pixels of the viewport, press and release the left button."""
        self.hover(x, y)
        for kind in ("mousePressed", "mouseReleased"):
            self.page("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                      clickCount=1)

    def hover(self, x, y):
        """Move the mouse to (x, y), no button pressed."""
        self.page("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)

    def type_into(self, selector, text):
        """Focus a field, select what it holds and type `text` over it, as a keyboard would."""
        field = f"document.querySelector({json.dumps(selector)})"
        self.js(f"(e => {{ e.focus(); e.select(); }})({field})")
        self.page("Input.insertText", text=text)

    def screenshot(self):
        return base64.b64decode(self.page("Page.captureScreenshot", format="png")["data"])
