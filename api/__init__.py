"""The service's doors: the HTTP app (``http``), its request plumbing (``plumbing``), the
paths in front of FastAPI (``edge``), the browser console (``console``) and the command line
(``cli``); ``wiring`` builds what they all share."""
