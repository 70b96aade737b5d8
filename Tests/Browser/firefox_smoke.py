"""The dashboard in Firefox: sign in, every lamp on the map and live, a command given on the
page shown. Firefox is driven through its own Marionette protocol (PyPI's marionette-driver),
since Debian has no geckodriver. Not part of CI (Firefox is a large install); run it with

    scripts/browser-test.sh --firefox     # installs firefox-esr and marionette-driver if missing

Screenshot: .build/browser-screenshots/firefox-map.png.
"""
import base64
import os
import shutil
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fleet import ROOT, Fleet, wait_until  # noqa: E402

LAMPS = 500
SCREENSHOTS = os.environ.get("SCREENSHOTS", os.path.join(ROOT, ".build", "browser-screenshots"))


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    from marionette_driver.marionette import Marionette

    fleet = Fleet(prefix="lamplighter-firefox-")
    client = None
    profile = tempfile.mkdtemp(prefix="lamplighter-firefox-profile-")
    passed = failed = 0
    try:
        fleet.generate(LAMPS)
        fleet.start_daemon()
        fleet.simulate(LAMPS)
        wait_until(f"{LAMPS} lamps are online", lambda: fleet.online() == LAMPS, timeout=60)
        binary = os.environ.get("FIREFOX") or shutil.which("firefox-esr") or shutil.which("firefox")
        client = Marionette(host="127.0.0.1", port=free_port(), bin=binary, headless=True, profile=profile,
                            gecko_log=os.path.join(fleet.directory, "gecko.log"), app_args=["-width", "1400", "-height", "900"],
                            startup_timeout=120)
        client.start_session()
        client.set_window_rect(width=1400, height=900)

        def script(text):
            # In the page's own scope (not Marionette's sandbox), where the dashboard's test view lives.
            return client.execute_script(text, sandbox=None)

        def check(what, condition, timeout=20):
            nonlocal passed, failed
            try:
                wait_until(what, condition, timeout=timeout)
                passed += 1
                print(f"ok: {what}")
            except AssertionError as error:
                failed += 1
                print(f"FAILED: {error}")
                raise

        client.navigate(fleet.url + "/")
        check("the sign-in form shows", lambda: script("return !document.getElementById('signin').hidden"))
        field = client.find_element("id", "token")
        field.send_keys(fleet.admin_token)
        client.find_element("id", "signin-button").click()
        check("the page is live", lambda: script("return document.getElementById('app').dataset.live") == "true")
        check("the map read every lamp", lambda: script("return document.getElementById('map').dataset.lamps") == str(LAMPS))
        check("the map drew every lamp", lambda: script("return document.getElementById('map').dataset.drawn") == str(LAMPS))
        check("the counters show every lamp online", lambda: script("return document.getElementById('count-online').dataset.value") == str(LAMPS))
        client.find_element("id", "target-all").click()
        level = client.find_element("id", "level")
        level.clear()
        level.send_keys("42")
        clicked = time.monotonic()
        client.find_element("id", "send").click()
        check("the page shows every lamp at 42 %",
              lambda: script("return window.lamplighterDashboard.levels()[42] || 0") == LAMPS, timeout=15)
        print(f"  all {LAMPS} at 42 % on the page {1000 * (time.monotonic() - clicked):.0f} ms after the click")
        os.makedirs(SCREENSHOTS, exist_ok=True)
        with open(os.path.join(SCREENSHOTS, "firefox-map.png"), "wb") as file:
            file.write(base64.b64decode(client.screenshot()))
    except Exception as error:  # reported below, with the plain closing line
        if failed == 0:
            failed += 1
        print(f"FAILED: {error!r}")
    finally:
        if client:
            try:
                client.quit(in_app=False)
            except Exception:
                pass
            client.cleanup()
        fleet.close()
        shutil.rmtree(profile, ignore_errors=True)
    print(f"firefox: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
