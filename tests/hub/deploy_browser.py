#!/usr/bin/python3
"""reg-hub's deploy form and deployment pages in headless Chromium (the
helpers are browser.py's).

Environment: as browser.py (HUB_URL, HUB_ADMIN_PW, HUB_CTL, HUB_SHOTS), and
DEP_APPS (a directory with web-v1.tar.gz, web-v2.tar.gz, web-v3.tar.gz:
the app, the app changed, the app broken), DEP_BASE (the base template),
DEP_PORT (the port published on the devices), DEP_DEVICES (JSON: the
device names). Prints "ok <step>"; exits 1 on a failed check.
"""
import json
import os
import sys

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.ui import Select

from browser import browser, click, css, fetch, goto, login, present, shot, step, wait, URL, ADMIN_PW

APPS = os.environ["DEP_APPS"]
BASE = os.environ["DEP_BASE"]
PORT = os.environ["DEP_PORT"]
DEVICES = json.loads(os.environ["DEP_DEVICES"])


def fill(d, version_file, parallel, first=False):
    goto(d, URL + "/deploy.html")
    wait(d, "the deploy form", lambda: present(d, "#dep-form") and present(d, ".dep-device"))
    css(d, "#dep-app").send_keys("webui")
    css(d, "#dep-file").send_keys(os.path.join(APPS, version_file))
    css(d, "#dep-bases").send_keys(BASE)
    css(d, "#dep-cmd").send_keys("/usr/bin/python3.11\napp.py")
    css(d, "#dep-env").send_keys("PORT=8000")
    css(d, "#dep-ports").send_keys(f"{PORT}:8000")
    Select(css(d, "#dep-restart")).select_by_value("on-failure:3")
    css(d, "#dep-memory").send_keys("128m")
    parallel_box = css(d, "#dep-parallel")
    parallel_box.clear()
    parallel_box.send_keys(str(parallel))
    for name in DEVICES:
        box = css(d, f'.dep-device[value="{name}"]')
        if not box.is_selected():
            click(d, box)
    wait(d, "the HTTP check's fields", lambda: present(d, "#dep-hpath"))
    css(d, "#dep-hinterval").clear()
    css(d, "#dep-hinterval").send_keys("1s")
    if first:
        css(d, "#dep-rafter").send_keys("1m")
        shot(d, "deploy-form")
    click(d, css(d, "#dep-submit"))
    wait(d, "the deployment page", lambda: "deployment.html?id=" in d.current_url and present(d, "#dep-state"))
    return d.current_url.split("id=")[1]


def finished(d):
    wait(d, "the deployment to finish",
         lambda: present(d, '#dep-state [data-state="succeeded"], #dep-state [data-state="failed"]'), timeout=180)
    return css(d, "#dep-state .badge").get_attribute("data-state")


def device_states(d):
    return [css(d, f'tr[data-device="{n}"] .badge').get_attribute("data-state") for n in DEVICES]


def api_get(d, path):
    status, text = fetch(d, "GET", path, csrf=False)
    assert status == 200, f"GET {path}: {status} {text[:300]}"
    return json.loads(text)


def scenario_first(d):
    dep = fill(d, "web-v1.tar.gz", len(DEVICES), first=True)
    state = finished(d)
    assert state == "succeeded", f"v1: {state}: {css(d, '#dep-detail').text[:800]}"
    assert device_states(d) == ["healthy"] * len(DEVICES), device_states(d)
    shot(d, "deploy-detail")
    body = api_get(d, f"/deployments/{dep}")
    # (the base came with it unless an earlier test brought it: the API tests check its size)
    assert all(x["PullBytes"] > 0 and x["PullSeconds"] is not None for x in body["Devices"]), body
    # The form's redeploy fields: a minute unhealthy, at most 3 times.
    assert body["Spec"].get("Redeploy") == {"After": 60, "Attempts": 3}, body["Spec"]
    assert css(d, f'tr[data-device="{DEVICES[0]}"] .redeploys').text == "0 of 3"
    step(f"deploy webui@1 to {len(DEVICES)} devices from the form: all healthy")


def scenario_changed(d):
    dep = fill(d, "web-v2.tar.gz", len(DEVICES))
    state = finished(d)
    assert state == "succeeded", f"v2: {state}: {css(d, '#dep-detail').text[:800]}"
    # Only message.txt changed: its blob is all each device pulled.
    changed = os.path.getsize(os.path.join(APPS, "web-v2", "message.txt"))
    body = api_get(d, f"/deployments/{dep}")
    moved = [x["PullBytes"] for x in body["Devices"]]
    assert moved == [changed] * len(DEVICES), f"a changed app moved {moved} bytes (the changed file: {changed})"
    shot(d, "deploy-changed")
    step(f"the changed app moved {moved[0]} bytes per device: the changed file's")


def scenario_broken(d):
    dep = fill(d, "web-v3.tar.gz", 1)
    state = finished(d)
    assert state == "failed", f"v3: {state}"
    states = device_states(d)
    assert states == ["rolled back"] + ["skipped"] * (len(DEVICES) - 1), states
    assert "unhealthy" in css(d, "#dep-error").text, css(d, "#dep-error").text
    # The devices not on the new version still serve the old one: said so.
    stats = css(d, "#dep-detail .card-body").text
    assert f"1 rolled back, {len(DEVICES) - 1} skipped: on the previous version" in stats, stats
    shot(d, "deploy-rollback")
    goto(d, URL + "/deploy.html")
    wait(d, "the list", lambda: present(d, f'#dep-table tr[data-id="{dep}"]'))
    shot(d, "deploy-list", at="#dep-list-error", block="start")
    step("a broken version rolls back on the first device and the rolling update stops there")


def main():
    d = browser()
    try:
        login(d, "admin", ADMIN_PW)
        for s in (scenario_first, scenario_changed, scenario_broken):
            s(d)
    except (AssertionError, WebDriverException) as e:
        print(f"FAIL {e}", file=sys.stderr)
        try:
            shot(d, "deploy-failure")
            for entry in d.get_log("browser"):
                print(f"browser console: {entry['message']}", file=sys.stderr)
        except WebDriverException:
            pass
        sys.exit(1)
    finally:
        d.quit()


main()
