"""The chat page at `/` in a real browser: headless Chromium, driven by
Selenium through Debian's chromedriver (no browser download).

Types a question, presses Send, and checks that the answer streams in (the
bubble's text grows over several reads) and completes (the usage line
appears). Saves a screenshot to $LOCALLM_SCREENSHOT.
"""
import os
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

URL = os.environ["LOCALLM_URL"]
KEY = os.environ["LOCALLM_KEY"]
MODEL = os.environ["LOCALLM_MODEL"]

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync",
             "--user-data-dir=" + tempfile.mkdtemp()]:
    options.add_argument(flag)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
try:
    driver.get(URL + "/")
    assert "locallm" in driver.title.lower(), driver.title
    driver.find_element(By.ID, "key").send_keys(KEY)
    driver.find_element(By.ID, "reset").click()  # clears the no-key error of the first load
    driver.find_element(By.ID, "input").send_keys("What is the capital of France?")
    driver.find_element(By.ID, "send").click()

    seen, deadline = [], time.time() + 120
    while time.time() < deadline:
        bubbles = driver.find_elements(By.CSS_SELECTOR, ".msg.assistant")
        text = bubbles[-1].text if bubbles else ""
        if text and (not seen or seen[-1] != text):
            seen.append(text)
        if "generated" in driver.find_element(By.ID, "stats").text:
            break
        time.sleep(0.02)
    else:
        raise AssertionError(f"no complete answer in time; saw {seen!r}")

    errors = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".msg.error")]
    assert not errors, errors
    assert driver.find_element(By.ID, "model").text == MODEL
    final = driver.find_elements(By.CSS_SELECTOR, ".msg.assistant")[-1].text
    assert final, "empty answer"
    # streamed: the bubble showed growing prefixes of the final answer
    assert len(seen) >= 2 and all(final.startswith(s) for s in seen), seen
    driver.save_screenshot(os.environ["LOCALLM_SCREENSHOT"])
    print(f"browser: ok, {len(seen)} partial renders, answer {final!r}")
finally:
    driver.quit()
