"""Makes docs/dashboard.png, the README's screenshot: 1,000 lamps on a street grid, a harbour
group of 60 with an override, lamps that fail now and then, a dozen whose simulator is killed
(offline), a box of lamps switched off from the page, the rest dimmed.

    swift build -j 2 && python3 Tests/Browser/readme_screenshot.py [PATH]
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fleet import ROOT, Fleet, chromium, stop, wait_until  # noqa: E402

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docs", "dashboard.png")
    fleet = Fleet(prefix="lamplighter-screenshot-")
    browser = None
    try:
        fleet.generate(1000)
        fleet.generate(60, prefix="quay-", latitude=52.3772, longitude=4.9000, extra=["--group", "harbour", "--spacing", "20"])
        fleet.generate(12, prefix="pier-", latitude=52.3772, longitude=4.9110, extra=["--spacing", "20"])
        fleet.start_daemon()
        fleet.simulate(1000)
        fleet.simulate(60, prefix="quay-", extra=["--failure-rate", "40"])
        pier = fleet.simulate(12, prefix="pier-")
        wait_until("every lamp is online", lambda: fleet.online() == 1072, timeout=60)
        stop(pier, signal.SIGKILL)
        wait_until("the pier is offline", lambda: fleet.online() == 1060, timeout=20)
        fleet.request("POST", "/commands", {"target": "all", "action": "level", "level": 40, "fadeSeconds": 1.5})

        browser = chromium(1600, 1100)
        browser.get(fleet.url + "/")
        field = wait_until("the sign-in form", lambda: browser.find_element(By.ID, "token").is_displayed() and browser.find_element(By.ID, "token"))
        field.send_keys(fleet.admin_token)
        field.send_keys(Keys.ENTER)
        wait_until("the map is loaded", lambda: browser.find_element(By.ID, "map").get_attribute("data-loaded") == "true", timeout=30)
        canvas = browser.find_element(By.ID, "map")
        width, height = canvas.size["width"], canvas.size["height"]
        # Switch off a block of streets selected with a box.
        actions = ActionChains(browser)
        actions.key_down(Keys.SHIFT).move_to_element_with_offset(canvas, width // 12, height // 10).click_and_hold()
        actions.move_by_offset(width // 8, height // 10).move_by_offset(width // 8, height // 10).release().key_up(Keys.SHIFT).perform()
        wait_until("a box of lamps is selected", lambda: int(canvas.get_attribute("data-selected") or 0) > 20)
        Select(browser.find_element(By.ID, "action")).select_by_value("off")
        browser.find_element(By.ID, "send").click()
        wait_until("they are off", lambda: "done" in browser.find_element(By.ID, "progress-text").text, timeout=20)
        browser.find_element(By.ID, "clear-selection").click()
        # The harbour at full light for two hours, whatever its program says.
        fleet.request("POST", "/commands", {"target": "group:harbour", "action": "override", "level": 100, "durationSeconds": 7200})
        wait_until("the harbour shows its override", lambda: browser.execute_script(
            "return window.lamplighterDashboard.countWhere('override') + window.lamplighterDashboard.countWhere('fault')") >= 60, timeout=20)
        wait_until("a lamp has a fault", lambda: browser.execute_script("return window.lamplighterDashboard.counts().fault") > 0, timeout=30)
        browser.execute_script("document.activeElement.blur()")
        time.sleep(1)  # the map repaints live changes at most every 250 ms: let the last one land (only the picture waits)
        browser.save_screenshot(path)
        print(f"wrote {path}")
    finally:
        if browser:
            browser.quit()
        fleet.close()


if __name__ == "__main__":
    main()
