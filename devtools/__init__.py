"""Run a real Home Assistant and the Salto KS cloud simulator as subprocesses, and drive them over HTTP.

Used by ``scripts/develop`` (``python -m devtools.develop``), ``scripts/screenshot``
(``python -m devtools.screenshot``) and ``tests/e2e``. Everything here talks to Home Assistant the
way a browser or a user's script does: the onboarding API, the login flow, the REST API
(``/api/...``, ``/api/config/config_entries/...``) and the WebSocket API. Nothing imports Home
Assistant itself.

Modules, each one job; a module imports only modules listed before it (no circle):

- ``common``: repository paths, the development login, the error type
- ``processes``: child processes (Home Assistant, the simulator, chromedriver) and ports
- ``haconfig``: what a config dir holds before Home Assistant starts in it
- ``waiting``: polling until something answers, the loopback HTTP session
- ``logs``: reading Home Assistant's log for the integration's problems and leaked secrets
- ``sim_control``: the simulator's ``/_sim/`` control API
- ``websocket``: Home Assistant's WebSocket API
- ``flows``: answering data entry flow forms by field name
- ``rest``: Home Assistant's onboarding, login and REST API
- ``salto``: the Salto KS entry of a development instance
- ``oauth``: a Salto-account (OAuth2) entry: the dev Home Assistant's callback registered in the
  simulator, an application credential, the simulator's sign-in pages answered as a browser would
- ``develop``: the ``scripts/develop`` command
- ``webdriver``: headless Chromium through ChromeDriver (``chromium()``), for ``scripts/screenshot``
  and the browser sign-in test (``tests/e2e/test_oauth_browser.py``)
- ``screenshot``: the ``scripts/screenshot`` command
"""
