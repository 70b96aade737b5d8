"""The dashboard in a real browser against a real fleet: lamplighterd, 1,000 simulated lamps
on a street grid (lampsim) and one more lamp in a simulator of its own, headless Chromium
driven by Selenium. Run by scripts/browser-test.sh (which builds first):

    python3 Tests/Browser/test_dashboard.py

Screenshots go to .build/browser-screenshots/. Every wait has a condition and a deadline.
"""
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fleet import ROOT, Fleet, chromium, stop, wait_until  # noqa: E402

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

SCREENSHOTS = os.environ.get("SCREENSHOTS", os.path.join(ROOT, ".build", "browser-screenshots"))
LAMPS = 1000
SOLO = "solo-0001"
PROGRAM = "# Midnight dimming\nsunset-10m    100%   fade 10s\n23:00         30%    fade 10s\nsunrise+10m   off\n"

fleet = None
solo_simulator = None


def setUpModule():
    global fleet, solo_simulator
    os.makedirs(SCREENSHOTS, exist_ok=True)
    fleet = Fleet()
    try:
        fleet.generate(LAMPS)
        # One lamp north of the grid, in a simulator of its own, to be killed.
        fleet.generate(1, prefix="solo-", latitude=52.3775, longitude=4.9041)
        fleet.start_daemon()
        fleet.simulate(LAMPS)
        solo_simulator = fleet.simulate(1, prefix="solo-")
        wait_until("all 1,001 lamps are online", lambda: fleet.online() == LAMPS + 1, timeout=60)
    except BaseException:
        fleet.close()
        raise


def tearDownModule():
    if fleet:
        fleet.close()


class BrowserCase(unittest.TestCase):
    """Each test has its own browser (its own session storage, so its own sign-in)."""

    width, height = 1600, 1000

    def setUp(self):
        self.browser = chromium(self.width, self.height)
        self.addCleanup(self.browser.quit)

    def tearDown(self):
        # A page that threw, or that the Content Security Policy refused, fails the test.
        problems = [
            entry["message"] for entry in self.browser.get_log("browser")
            if entry["level"] == "SEVERE" and "status of 401" not in entry["message"] and "status of 409" not in entry["message"]
        ]
        self.assertEqual(problems, [], "the browser console has errors")

    # Helpers.
    def open(self, path="/"):
        self.browser.get(fleet.url + path)

    def element(self, element_id):
        return self.browser.find_element(By.ID, element_id)

    def script(self, text, *arguments):
        return self.browser.execute_script(text, *arguments)

    def screenshot(self, name):
        path = os.path.join(SCREENSHOTS, f"{name}.png")
        self.browser.save_screenshot(path)
        return path

    def sign_in(self, token):
        self.open("/")
        field = wait_until("the sign-in form shows", lambda: self.visible("token"))
        field.send_keys(token)
        field.send_keys(Keys.ENTER)

    def visible(self, element_id):
        found = self.browser.find_elements(By.ID, element_id)
        return found[0] if found and found[0].is_displayed() else None

    def wait_for_fleet(self):
        wait_until("the page is live (stream subscribed)",
                   lambda: self.element("app").get_attribute("data-live") == "true", timeout=20)
        wait_until("the map has read every lamp", lambda: self.element("map").get_attribute("data-loaded") == "true", timeout=30)

    def counter(self, key):
        return int(self.element(f"count-{key}").get_attribute("data-value"))

    def lamp(self, lamp_id):
        return self.script("return window.lamplighterDashboard.lamp(arguments[0])", lamp_id)


class DashboardTest(BrowserCase):
    """A control-room screen."""

    def test_bad_and_revoked_tokens_are_refused(self):
        self.sign_in("not-a-token")
        error = wait_until("the page says the token was refused", lambda: self.element("signin-error").text)
        self.assertIn("refused", error)
        self.assertIn("not valid", error)
        self.assertFalse(self.element("app").is_displayed())
        self.screenshot("refused-token")

        revoked = fleet.create_token("revoked-soon", "viewer")
        self.assertEqual(fleet.request("DELETE", "/tokens/revoked-soon")[0], 204)
        self.element("token").clear()
        self.sign_in(revoked)
        error = wait_until("the page refuses the revoked token", lambda: self.element("signin-error").text)
        self.assertIn("unknown or revoked", error)

    def drawn_since(self, since):
        """The page's figures for the frames drawn since `since` (ms), once at least one was:
        the lamps' model can show a change a moment before the frame that draws it, and
        reading in between found no frame (a flaky None in CI)."""
        return wait_until("the page drew a frame with the change",
                          lambda: (lambda w: w if w["frames"] > 0 else None)(
                              self.script("return window.lamplighterDashboard.eventToScreen(arguments[0])", since)), timeout=5)

    def test_admin_sees_every_lamp_live_and_commands_them(self):
        self.sign_in(fleet.admin_token)
        self.wait_for_fleet()
        self.assertEqual(self.element("map").get_attribute("data-lamps"), str(LAMPS + 1))
        online = fleet.online()
        wait_until("the counters show every lamp online", lambda: self.counter("online") == online)
        self.assertEqual(self.counter("total"), LAMPS + 1)
        self.assertEqual(self.element("who-role").text, "admin")
        self.assertTrue(self.visible("command-panel"))
        wait_until("the map drew every lamp", lambda: int(self.element("map").get_attribute("data-drawn") or 0) == LAMPS + 1)
        self.screenshot("map-admin")

        # A command to all lamps from the page: the lamps apply it and the page shows it.
        self.element("target-all").click()
        Select(self.element("action")).select_by_value("level")
        level = self.element("level")
        level.clear()
        level.send_keys("37")
        since = self.script("return Date.now()")
        clicked = time.monotonic()
        self.element("send").click()
        wait_until(f"the page shows all {online} online lamps at 37 %",
                   lambda: self.script("return window.lamplighterDashboard.levels()[37]") == online, timeout=10)
        shown = time.monotonic() - clicked
        wait_until("the counters say they are dimmed", lambda: self.counter("dimmed") == online, timeout=5)
        wait_until("the progress counts every online lamp",
                   lambda: f"applied {online:,} / {LAMPS + 1:,}" in self.element("progress-text").text, timeout=5)
        # The lamps really applied it: the daemon's reported state agrees.
        lamps = fleet.get("/lamps?limit=10000&online=true")["lamps"]
        self.assertEqual({lamp["reported"]["level"] for lamp in lamps}, {37})
        # Every lamp's change reached the screen within a second of the daemon stamping it.
        waited = self.drawn_since(since)
        print(f"\n  command from the page to all {online:,} lamps: all shown {shown * 1000:.0f} ms after the click; "
              f"each change on screen at most {waited['maxMs']} ms after it happened ({waited['frames']} frames)", file=sys.stderr)
        self.assertGreater(waited["frames"], 0)
        self.assertLess(waited["maxMs"], 1000, "a lamp's change took more than a second to reach the screen")
        self.screenshot("map-after-dim-37")

        # Select lamps with a shift-drag box on the map, and switch them off.
        canvas = self.element("map")
        width, height = canvas.size["width"], canvas.size["height"]
        actions = ActionChains(self.browser)
        actions.key_down(Keys.SHIFT)
        actions.move_to_element_with_offset(canvas, -width // 6, -height // 6).click_and_hold()
        actions.move_by_offset(width // 8, height // 8).move_by_offset(width // 8, height // 8).release()
        actions.key_up(Keys.SHIFT).perform()
        selected = wait_until("the box selected lamps", lambda: int(canvas.get_attribute("data-selected") or 0))
        self.assertGreater(selected, 10)
        self.assertLess(selected, LAMPS)
        self.assertEqual(self.element("selection-count").text.replace(",", ""), str(selected))
        self.element("target-selection").click()
        Select(self.element("action")).select_by_value("off")
        since = self.script("return Date.now()")
        clicked = time.monotonic()
        self.element("send").click()
        wait_until(f"the page shows the {selected} selected lamps off",
                   lambda: self.script("return window.lamplighterDashboard.countWhere('off')") == selected, timeout=10)
        waited = self.drawn_since(since)
        print(f"  command to {selected} lamps selected with a box: all shown {1000 * (time.monotonic() - clicked):.0f} ms after "
              f"the click; each change on screen at most {waited['maxMs']} ms after it happened", file=sys.stderr)
        self.assertLess(waited["maxMs"], 1000)
        wait_until("the counters say so", lambda: self.counter("off") == selected, timeout=5)
        self.assertEqual(fleet.get("/lamps?limit=10000&mode=off")["total"], selected)
        self.screenshot("map-box-selection-off")

        # Open one lamp with the keyboard-usable search: its detail shows desired and reported.
        find = self.element("find-id")
        find.send_keys("lamp-0042")
        find.send_keys(Keys.ENTER)
        detail = wait_until("the lamp's detail shows", lambda: "Reported" in self.element("detail").text and self.element("detail").text)
        self.assertIn("Desired", detail)
        self.assertIn("online", detail)
        self.screenshot("lamp-detail")

    def test_killed_lamp_turns_offline(self):
        self.sign_in(fleet.admin_token)
        self.wait_for_fleet()
        wait_until("the solo lamp is online on the page", lambda: (self.lamp(SOLO) or {}).get("online") is True)
        offline_before = self.counter("offline")
        killed = time.monotonic()
        stop(solo_simulator, signal.SIGKILL)
        wait_until("the page shows the killed lamp offline", lambda: self.lamp(SOLO)["online"] is False, timeout=10)
        print(f"\n  lamp killed in the simulator: offline on the page {1000 * (time.monotonic() - killed):.0f} ms later", file=sys.stderr)
        self.assertLess(time.monotonic() - killed, 2.0)
        self.assertEqual(self.lamp(SOLO)["category"], "offline")
        wait_until("the offline counter grew", lambda: self.counter("offline") == offline_before + 1, timeout=5)
        find = self.element("find-id")
        find.send_keys(SOLO)
        find.send_keys(Keys.ENTER)
        wait_until("its detail says offline", lambda: "offline" in self.element("detail").text)
        self.screenshot("lamp-offline")

    def test_viewer_sees_no_command_controls(self):
        viewer = fleet.create_token("wall-screen", "viewer")
        self.sign_in(viewer)
        self.wait_for_fleet()
        self.assertEqual(self.element("who-role").text, "viewer")
        self.assertEqual(self.browser.find_elements(By.ID, "command-panel"), [])
        self.assertEqual(self.browser.find_elements(By.ID, "send"), [])
        self.assertEqual(self.browser.find_elements(By.ID, "tab-audit"), [])
        self.assertEqual(self.element("map").get_attribute("data-lamps"), str(LAMPS + 1))
        self.screenshot("map-viewer")

    def test_programs_events_and_audit(self):
        self.assertIn(fleet.request("PUT", "/programs/midnight", {"source": PROGRAM})[0], (200, 201))
        self.assertEqual(fleet.request("POST", "/programs/midnight/assign", {"target": "all"})[0], 202)
        self.sign_in(fleet.admin_token)
        self.wait_for_fleet()
        self.element("tab-programs").click()
        wait_until("the chart shows", lambda: self.browser.find_elements(By.CSS_SELECTOR, "#program-chart svg .point"))
        date = self.element("program-date")
        self.script("arguments[0].value = '2026-11-20'", date)
        self.element("program-form").submit()
        wait_until("the night of 20 November", lambda: "night of 2026-11-20" in self.element("program-summary").text)
        points = [row.text for row in self.browser.find_elements(By.CSS_SELECTOR, "#program-points tr")]
        self.assertEqual(len(points), 3, points)
        self.assertIn("switch on at 100%", points[0])
        self.assertIn("dim to 30%", points[1])
        self.assertIn("switch off", points[2])
        self.assertIn("23:00", points[1])
        wait_until("the lamps running it are listed", lambda: self.browser.find_elements(By.CSS_SELECTOR, "#program-lamps li"))
        self.screenshot("programs")

        self.element("tab-events").click()
        wait_until("events are listed", lambda: len(self.browser.find_elements(By.CSS_SELECTOR, "#events-rows tr")) > 5)
        Select(self.element("events-kind")).select_by_visible_text("online")
        self.element("events-form").submit()
        kinds = "return [...document.querySelectorAll('#events-rows tr td:nth-child(3)')].map((cell) => cell.textContent)"
        wait_until("only online events are listed", lambda: set(self.script(kinds)) == {"online"})
        self.screenshot("events")

        self.element("tab-audit").click()
        rows = wait_until("the audit log is listed", lambda: self.browser.find_elements(By.CSS_SELECTOR, "#audit-rows tr"))
        self.assertTrue(any("program.assign" in row.text for row in rows))
        self.screenshot("audit")


class FirstRunTest(BrowserCase):
    """The README's way in: a daemon with no lamps, the page open, then lamps registered and
    connected while both run: they appear on the page by themselves."""

    def test_lamps_registered_later_appear_live(self):
        empty = Fleet(prefix="lamplighter-first-run-")
        self.addCleanup(empty.close)
        empty.start_daemon()
        self.browser.get(empty.url + "/")
        field = wait_until("the sign-in form shows", lambda: self.visible("token"))
        field.send_keys(empty.admin_token)
        field.send_keys(Keys.ENTER)
        wait_until("the page is live", lambda: self.element("app").get_attribute("data-live") == "true", timeout=20)
        message = wait_until("the map says there are no lamps", lambda: self.element("map-message").text)
        self.assertIn("lampctl lamps generate", message)
        empty.generate_live(200)
        empty.simulate(200)
        wait_until("the 200 new lamps are on the map", lambda: self.element("map").get_attribute("data-lamps") == "200", timeout=30)
        wait_until("and online on the page", lambda: self.counter("online") == 200, timeout=30)
        self.assertEqual(self.element("map-message").text, "")
        self.screenshot("first-run")


class PhoneTest(BrowserCase):
    """The same page on a phone-sized screen: the map on top, the panels below."""

    width, height = 412, 915

    def setUp(self):
        super().setUp()
        self.browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": self.width, "height": self.height, "deviceScaleFactor": 2.625, "mobile": True})

    def test_phone_layout(self):
        self.sign_in(fleet.admin_token)
        self.wait_for_fleet()
        self.assertEqual(self.script("return window.innerWidth"), self.width)
        # Nothing is wider than the screen: no sideways scrolling.
        self.assertLessEqual(self.script("return document.documentElement.scrollWidth"), self.width)
        canvas = self.element("map")
        self.assertLessEqual(canvas.size["width"], self.width)
        panel = self.element("command-panel")
        self.assertGreater(panel.location["y"], canvas.location["y"] + canvas.size["height"] - 1, "the panels are not below the map")
        self.screenshot("phone")


if __name__ == "__main__":
    program = unittest.main(exit=False, verbosity=2)
    result = program.result
    failed = len(result.failures) + len(result.errors)
    passed = result.testsRun - failed - len(result.skipped)
    # The plain closing line CI reads.
    print(f"browser: {passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and result.testsRun > 0 else 1)
