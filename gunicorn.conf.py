"""gunicorn's settings for the web process (`gunicorn config.wsgi -c gunicorn.conf.py`: Procfile, deploy/).

Every value can be changed from the environment without editing this file; the defaults suit one machine behind a
TLS proxy (nginx, a load balancer) that buffers uploads and sets X-Forwarded-Proto.
"""

import os
import tempfile

# Listen where the proxy expects us: GUNICORN_BIND (one address, or several separated by commas), else PORT on the
# loopback (a platform that hands out a port), else 127.0.0.1:8000. Never 0.0.0.0 by default: only the proxy talks
# to gunicorn.
bind = [address.strip() for address in
        os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}").split(",") if address.strip()]

# Processes: WEB_CONCURRENCY when set (the name Heroku, Render and others use), else gunicorn's rule of thumb
# 2 x cores + 1, capped at 12: the work is database-bound, and each process holds its own database connections
# (CONN_MAX_AGE) and memory, so more processes than that on one machine only add connections and RAM.
workers = int(os.environ.get("WEB_CONCURRENCY", "0")) or min(2 * (os.cpu_count() or 1) + 1, 12)

# Threads: a request that waits on PostgreSQL, Redis or the evidence storage (S3) leaves the process free for
# another; 4 per process keeps the database connections (workers x threads per machine) modest.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))

# Evidence uploads reach 50 MB (a video, checked and remuxed by PyAV, a PDF rewritten by qpdf): a worker is only
# declared hung and restarted after 120 s of silence, not gunicorn's 30 s.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
# On SIGTERM (a deploy, systemd stop) requests in flight, an upload included, get this long to finish.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "60"))
# Idle keep-alive connections are kept longer than the proxy's own idle timeout (nginx and most load balancers:
# 60 s), so it is always the proxy that closes one, never gunicorn while the proxy is sending a request on it.
# gthread keeps idle connections in its poller, not in a thread.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))

# X-Forwarded-Proto (https) is believed only from the proxies the application trusts for X-Forwarded-For too
# (TRUSTED_PROXIES, comma-separated addresses, default 127.0.0.1 and ::1): one list for both.
forwarded_allow_ips = ",".join(
    address.strip() for address in os.environ.get("TRUSTED_PROXIES", "127.0.0.1,::1").split(",") if address.strip())

# One access log line per request on stdout (journald, the platform's log collector), with the time taken in
# milliseconds and the request's reference (the X-Request-ID the application answers with, core.request_id), so an
# access line and the application's log lines of the same request share one id.
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s" [%({x-request-id}o)s]'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Each process is replaced after about 1000 requests: whatever memory a process gathers over time (caches, a leak
# in a C library of the image and video stack) is given back. The jitter keeps the processes from restarting at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "1000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "100"))

# The heartbeat file lives in memory (/dev/shm, where it is writable), so a slow or full disk never makes a healthy
# worker look hung.
worker_tmp_dir = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # noqa: S108 - gunicorn's documented advice

# gunicorn 25+ opens a control socket at one fixed path per user ($XDG_RUNTIME_DIR or ~/.gunicorn): a second
# instance on the same machine would take it over and delete it when it stops, and a hardened unit cannot write to
# $HOME. Off unless GUNICORN_CONTROL_SOCKET names a path of this instance's own.
if control_path := os.environ.get("GUNICORN_CONTROL_SOCKET", ""):
    control_socket = control_path
else:
    control_socket_disable = True

# /metrics adds up the request times of every process of this server (prometheus-client's multiprocess mode,
# core.metrics): each process writes its samples into one directory, read at each scrape. Unless one is given (it must
# be empty when the server starts: systemd's RuntimeDirectory is), a new empty directory per start of the server, made
# before the processes fork, so no sample of an earlier run is counted; a reload (HUP) keeps it.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="marketplace-support-metrics-")
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
