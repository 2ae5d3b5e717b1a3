#!/usr/bin/python3
"""reg-hub in a real browser: headless Chromium driven by Debian's selenium.

    browser.py main     the scenarios, one browser session, in order
    browser.py expiry   a session that expires must log in again

Environment: HUB_URL, HUB_ADMIN_PW, HUB_CTL (tests/hub/ctl.sh), HUB_DEVICES
(JSON: [{"Name", "Url", "CaFile", "Token"}]), HUB_SHOTS (a directory for
the screenshots, docs/img when refreshing the docs), HUB_PROBE_S (probe
interval plus timeout, seconds). Prints "ok <step>" per step; a failed
check raises, printing what the page showed, and exits 1.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import (ElementClickInterceptedException, StaleElementReferenceException,
                                        TimeoutException, WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

URL = os.environ["HUB_URL"]
ADMIN_PW = os.environ["HUB_ADMIN_PW"]
CTL = os.environ["HUB_CTL"]
DEVICES = json.loads(os.environ.get("HUB_DEVICES", "[]"))
SHOTS = os.environ.get("HUB_SHOTS", "")
PROBE_S = float(os.environ.get("HUB_PROBE_S", "3"))


def browser():
    profile = tempfile.mkdtemp(prefix="reg-hub-chromium-")
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--ignore-certificate-errors",
                 f"--user-data-dir={profile}", "--window-size=1280,800"):
        o.add_argument(flag)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_page_load_timeout(30)
    viewport(d, 1280, 800)
    return d


def viewport(d, width, height):
    """Make the page's viewport width x height (the window has chrome)."""
    d.set_window_size(width, height)
    dw, dh = d.execute_script("return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight]")
    d.set_window_size(width + dw, height + dh)


def click(d, element):
    d.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element)
    element.click()


def click_sel(d, find, what):
    """Click what find() returns, again if the page re-rendered meanwhile."""
    last = None
    for attempt in range(8):
        try:
            click(d, wait(d, what, find))
            return
        except (StaleElementReferenceException, ElementClickInterceptedException) as e:
            last = e.msg
            time.sleep(0.3)
    raise AssertionError(f"could not click {what}: {last}")


def goto(d, url):
    """Load a page, again when Chromium gave up on it because the host's
    network changed (other tests make and remove interfaces meanwhile)."""
    for _ in range(4):
        d.get(url)
        if "ERR_NETWORK_CHANGED" not in d.page_source:
            return
        time.sleep(0.5)
    raise AssertionError(f"{url}: ERR_NETWORK_CHANGED four times")


def step(name):
    print(f"ok {name}", flush=True)


def wait(d, what, fn, timeout=15):
    try:
        return WebDriverWait(d, timeout, poll_frequency=0.2,
                             ignored_exceptions=[StaleElementReferenceException, IndexError]).until(lambda _: fn())
    except TimeoutException:
        body = d.find_element(By.TAG_NAME, "body").text[:1500]
        raise AssertionError(f"timed out waiting for {what}; the page ({d.current_url}) shows:\n{body}")


def css(d, sel):
    return d.find_element(By.CSS_SELECTOR, sel)


def present(d, sel):
    return d.find_elements(By.CSS_SELECTOR, sel)


def shot(d, name, at=None, block="center"):
    """A screenshot for docs/hub.md: from the top, or with `at` in view
    (at the `block` of the window: center, or start to keep its heading)."""
    if not SHOTS:
        return
    if at:
        d.execute_script("arguments[0].scrollIntoView({block: arguments[1], behavior: 'instant'})",
                         css(d, at), block)
    else:
        d.execute_script("window.scrollTo({top: 0, behavior: 'instant'})")
    time.sleep(0.4)
    d.save_screenshot(os.path.join(SHOTS, f"hub-{name}.png"))


def ctl(*args):
    r = subprocess.run([CTL, *args], capture_output=True, text=True, timeout=60)
    return r.stdout + r.stderr


def fetch(d, method, path, csrf=True, body=None):
    """A request from the page itself (its cookie): [status, text]; again
    when the network change detection cut it (status 0)."""
    for _ in range(3):
        r = fetch_once(d, method, path, csrf, body)
        if r[0] != 0:
            return r
        time.sleep(0.5)
    return r


def fetch_once(d, method, path, csrf, body):
    return d.execute_async_script(
        """const [method, path, csrf, body, done] = arguments;
        (async () => {
          const headers = {'Content-Type': 'application/json'};
          if (csrf) {
            const s = await (await fetch('/api/v1/session')).json();
            headers['X-CSRF-Token'] = s.Csrf;
          }
          const r = await fetch('/api/v1' + path, {method, headers, body});
          done([r.status, await r.text()]);
        })().catch((e) => done([0, String(e)]));""",
        method, path, csrf, body)


def login(d, name, password, expect_ok=True):
    for attempt in range(3):
        goto(d, URL + "/login.html")
        wait(d, "the login form", lambda: present(d, "#login"))
        css(d, "#name").clear()
        css(d, "#name").send_keys(name)
        css(d, "#password").send_keys(password + Keys.ENTER)
        try:
            if expect_ok:
                wait(d, "the dashboard after login",
                     lambda: present(d, "#whoami") and present(d, "#device-list"))
            else:
                wait(d, "a login error", lambda: present(d, "#login-error"))
                # A fetch cut by a network change is not the refusal.
                if "fetch" in css(d, "#login-error").text:
                    continue
            return
        except AssertionError:
            if attempt == 2 or "ERR_NETWORK_CHANGED" not in d.page_source:
                raise


def device_state(d, name):
    rows = present(d, f'tr[data-device="{name}"] .state .badge')
    return rows[0].get_attribute("data-state") if rows else None


def scenario_login(d):
    login(d, "admin", "not-the-password", expect_ok=False)
    assert "wrong user name or password" in css(d, "#login-error").text
    assert "login.html" in d.current_url
    shot(d, "login")
    step("a wrong password is refused")
    login(d, "admin", ADMIN_PW)
    assert "admin" in css(d, "#whoami").text
    step("log in")


def scenario_add_devices(d):
    for dev in DEVICES:
        click(d, css(d, "#add-device-button"))
        wait(d, "the device form", lambda: present(d, "#dev-name"))
        css(d, "#dev-name").send_keys(dev["Name"])
        css(d, "#dev-url").send_keys(dev["Url"])
        with open(dev["CaFile"]) as f:
            d.execute_script("arguments[0].value = arguments[1]", css(d, "#dev-ca"), f.read())
        css(d, "#dev-token").send_keys(dev["Token"])
        click(d, css(d, "#dev-save"))
        wait(d, f"{dev['Name']} in the list", lambda: device_state(d, dev["Name"]) is not None)
    wait(d, "every device Online",
         lambda: all(device_state(d, dev["Name"]) == "online" for dev in DEVICES), timeout=20)
    assert css(d, "#count-online").text == str(len(DEVICES))
    shot(d, "dashboard")
    step(f"add {len(DEVICES)} devices: all Online")


def scenario_offline(d):
    name = DEVICES[1]["Name"]
    out = ctl("stop", "2")
    t0 = time.monotonic()
    wait(d, f"{name} Offline", lambda: device_state(d, name) == "offline", timeout=PROBE_S + 5)
    took = time.monotonic() - t0
    assert took <= PROBE_S + 2.5, f"{name} took {took:.1f} s to go Offline (probe {PROBE_S} s) {out}"
    others = [dev["Name"] for dev in DEVICES if dev["Name"] != name]
    assert all(device_state(d, n) == "online" for n in others), "another device went down too"
    shot(d, "dashboard-offline")
    step(f"a stopped regd: Offline after {took:.1f} s")
    ctl("start", "2")
    wait(d, f"{name} Online again", lambda: device_state(d, name) == "online", timeout=PROBE_S + 5)
    step("its regd restarted: Online")


def open_device(d, name):
    goto(d, URL + "/")
    goto(d, wait(d, "the device list", lambda: present(d, f'tr[data-device="{name}"] a')[0].get_attribute("href")))
    wait(d, "the device page", lambda: present(d, "#run-form") and present(d, '#info [data-info="Architecture"]'))


def container_row(d, name):
    rows = present(d, f'tr[data-container="{name}"]')
    return rows[0] if rows else None


def click_action(d, name, action):
    sel = f'tr[data-container="{name}"] button[data-action="{action}"]'
    click_sel(d, lambda: (present(d, sel) or [None])[0], f"the {action} button of {name}")


def scenario_containers(d):
    dev = DEVICES[0]["Name"]
    open_device(d, dev)
    wait(d, "the templates", lambda: len(Select(css(d, "#run-template")).options) > 0)
    Select(css(d, "#run-template")).select_by_value("base@1")
    css(d, "#run-name").send_keys("ticker")
    css(d, "#run-cmd").send_keys("i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.5; done")
    click(d, css(d, "#run-button"))
    wait(d, "ticker running", lambda: container_row(d, "ticker") is not None
         and container_row(d, "ticker").get_attribute("data-state") == "running")
    ps = ctl("reg", "1", "ps")
    assert "ticker" in ps and "running" in ps, f"reg ps on the device after run: {ps}"
    step("run a container from the UI: reg ps shows it running")
    # History charts fill as the hub samples.
    wait(d, "utilisation samples", lambda: "samples" in css(d, "#history-note").text, timeout=20)
    shot(d, "device")


def scenario_logs_terminal(d):
    goto(d, wait(d, "the link to ticker",
               lambda: css(d, 'tr[data-container="ticker"] a').get_attribute("href")))
    wait(d, "the log", lambda: "tick" in css(d, "#log").text)
    first = css(d, "#log").text.count("tick")
    wait(d, "new log lines arriving", lambda: css(d, "#log").text.count("tick") >= first + 3, timeout=10)
    shot(d, "container-logs")
    step("logs follow live")
    click(d, css(d, "#tab-terminal"))
    click(d, css(d, "#terminal-open"))
    wait(d, "a prompt", lambda: present(d, "#terminal .xterm-rows") and "#" in css(d, "#terminal .xterm-rows").text,
         timeout=20)
    area = css(d, "#terminal textarea")
    area.send_keys("echo $((6*7))-from-the-terminal\n")
    wait(d, "the command's output", lambda: "42-from-the-terminal" in css(d, "#terminal .xterm-rows").text)
    shot(d, "terminal", at="#terminal")
    step("the terminal runs a command")
    click(d, css(d, "#tab-stats"))
    wait(d, "live stats", lambda: "CPU" in css(d, "#stats-now").text, timeout=10)
    shot(d, "container-stats")
    step("container stats")


def scenario_stop_remove(d):
    open_device(d, DEVICES[0]["Name"])
    click_action(d, "ticker", "stop")
    wait(d, "ticker stopped", lambda: container_row(d, "ticker")
         and container_row(d, "ticker").get_attribute("data-state") == "stopped", timeout=20)
    ps = ctl("reg", "1", "ps", "-a")
    assert "ticker" in ps and "exited" in ps, f"reg ps -a on the device after stop: {ps}"
    step("stop from the UI: reg ps -a shows it exited")
    d.execute_script("window.confirm = () => true")
    click_action(d, "ticker", "remove")
    wait(d, "ticker gone", lambda: container_row(d, "ticker") is None)
    ps = ctl("reg", "1", "ps", "-a")
    assert "ticker" not in ps, f"reg ps -a on the device after remove: {ps}"
    step("remove from the UI: gone from reg ps -a")


def scenario_csrf(d):
    status, text = fetch(d, "POST", "/tokens", csrf=False, body='{"Name": "no-csrf"}')
    assert status == 403 and "CSRF" in text, f"{status} {text}"
    status, text = fetch(d, "GET", "/tokens", csrf=False)
    assert "no-csrf" not in text
    step("a change without its CSRF token: 403, nothing made")


def scenario_users_audit(d):
    goto(d, URL + "/users.html")
    wait(d, "the user form", lambda: present(d, "#user-form") and present(d, "#user-table"))
    css(d, "#user-name").send_keys("bob")
    css(d, "#user-password").send_keys("bob-password-1")
    Select(css(d, "#user-role")).select_by_value("viewer")
    click(d, css(d, "#user-add"))
    wait(d, "bob listed", lambda: present(d, 'tr[data-user="bob"]'))
    css(d, "#token-name").send_keys("ci")
    click(d, css(d, "#token-add"))
    wait(d, "the new token shown once", lambda: present(d, "#token-value"))
    assert css(d, "#token-value").text.startswith("rht_")
    shot(d, "users")
    step("users and tokens")
    goto(d, URL + "/audit.html")
    wait(d, "the audit log", lambda: present(d, "#audit-table") and "container stop" in css(d, "#audit-table").text)
    shot(d, "audit")
    step("the audit log shows who did what")


def scenario_viewer(d):
    third = DEVICES[2]["Name"]
    # Give the third device to bob (the edit form's owner).
    goto(d, URL + "/")
    wait(d, "the device list", lambda: present(d, f'tr[data-device="{third}"]'))
    click_sel(d, lambda: (present(d, f'tr[data-device="{third}"] button') or [None])[0], "the Edit button")
    wait(d, "the edit form", lambda: present(d, "#dev-owner"))
    Select(css(d, "#dev-owner")).select_by_value("bob")
    click(d, css(d, "#dev-save"))
    wait(d, "the owner saved", lambda: not present(d, "#dev-owner"))
    ctl("reg", "3", "run", "-d", "--name", "keep", "-t", "base@1", "--", "/bin/sleep", "1000")
    click(d, css(d, "#logout"))
    wait(d, "the login page", lambda: present(d, "#login"))
    login(d, "bob", "bob-password-1")
    wait(d, "bob's device", lambda: device_state(d, third) is not None)
    names = [r.get_attribute("data-device") for r in present(d, "tr[data-device]")]
    assert names == [third], f"bob sees {names}"
    open_device(d, third)
    wait(d, "keep listed", lambda: container_row(d, "keep") is not None)
    stop = container_row(d, "keep").find_element(By.CSS_SELECTOR, 'button[data-action="stop"]')
    assert not stop.is_enabled(), "a viewer's stop button is enabled"
    assert "viewer" in stop.get_attribute("title")
    shot(d, "viewer", at='tr[data-container="keep"]')
    step("a viewer: the UI offers no stop")
    dev_id = d.current_url.split("id=")[1]
    status, text = fetch(d, "POST", f"/devices/{dev_id}/containers/keep/stop")
    assert status == 403 and "a viewer can change nothing" in text, f"{status} {text}"
    ps = ctl("reg", "3", "ps")
    assert "keep" in ps and "running" in ps, ps
    step("a viewer: the API refuses a stop (403), the container runs on")
    ctl("reg", "3", "rm", "-f", "keep")


def scenario_phone(d):
    login(d, "admin", ADMIN_PW)
    # Headless windows are at least 500 px wide: emulate the phone's screen.
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    goto(d, URL + "/")
    wait(d, "the dashboard", lambda: device_state(d, DEVICES[0]["Name"]) is not None)
    width = d.execute_script("return document.documentElement.scrollWidth")
    assert width <= 400, f"the dashboard is {width} px wide on a phone"
    shot(d, "phone-dashboard")
    open_device(d, DEVICES[0]["Name"])
    width = d.execute_script("return document.documentElement.scrollWidth")
    assert width <= 400, f"the device page is {width} px wide on a phone"
    shot(d, "phone-device")
    d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    step("phone size: no sideways scrolling")


def scenario_expiry(d):
    login(d, "admin", ADMIN_PW)
    ttl = float(os.environ.get("HUB_TTL_S", "3"))
    time.sleep(ttl + 1.5)
    goto(d, URL + "/device.html?id=1")
    wait(d, "the login page", lambda: "login.html" in d.current_url and present(d, "#login-info"))
    assert "session has ended" in css(d, "#login-info").text
    shot(d, "expired")
    step("an expired session must log in again")
    login(d, "admin", ADMIN_PW)
    step("and can")


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else "main"
    d = browser()
    try:
        if which == "expiry":
            scenario_expiry(d)
        else:
            for s in (scenario_login, scenario_add_devices, scenario_offline, scenario_containers,
                      scenario_logs_terminal, scenario_stop_remove, scenario_csrf, scenario_users_audit,
                      scenario_viewer, scenario_phone):
                s(d)
        logs = [e for e in d.get_log("browser") if e.get("level") == "SEVERE"
                and "favicon" not in e.get("message", "") and "401" not in e.get("message", "")]
        for e in logs:
            print(f"browser console: {e['message']}", file=sys.stderr)
    except (AssertionError, WebDriverException) as e:
        print(f"FAIL {e}", file=sys.stderr)
        try:
            shot(d, "failure")
            for e in d.get_log("browser"):
                print(f"browser console: {e['message']}", file=sys.stderr)
        except WebDriverException:
            pass
        sys.exit(1)
    finally:
        d.quit()


if __name__ == "__main__":
    main()
