"""Apache's MPM limits (MaxClients, ServerLimit, ThreadsPerChild, spare
workers, MaxKeepAliveRequests) from --processes, --threads, --max-clients
and the spare-worker fractions: mod_wsgi-express 6.1.1's formulas, so the
same options size Apache the same way."""

import math


def capacity(options):
    """Apache's MPM limits from processes, threads and --max-clients, with
    mod_wsgi-express's formulas."""
    max_clients = options['processes'] * options['threads']
    if options['max_clients'] is not None:
        max_clients = max(options['max_clients'], max_clients)
    else:
        max_clients = 10 + max(10, int(1.5 * max_clients))
    initial = options['initial_workers']
    min_spare = options['minimum_spare_workers']
    max_spare = options['maximum_spare_workers']

    prefork_initial = 0.05 if initial is None else initial
    prefork_min = prefork_initial if min_spare is None else min_spare
    prefork_max = 0.1 if max_spare is None else max_spare
    options['prefork_max_clients'] = max_clients
    options['prefork_server_limit'] = max_clients
    options['prefork_start_servers'] = max(1, int(prefork_initial *
            max_clients))
    options['prefork_min_spare_servers'] = max(1, int(prefork_min *
            max_clients))
    options['prefork_max_spare_servers'] = max(1, int(prefork_max *
            max_clients))

    worker_initial = 0.2 if initial is None else initial
    worker_min = worker_initial if min_spare is None else min_spare
    worker_max = 0.6 if max_spare is None else max_spare
    if max_clients > 20:
        per_child = int(max_clients / (int(max_clients / 20) + 1))
    else:
        per_child = 10
    options['worker_threads_per_child'] = per_child
    options['worker_thread_limit'] = per_child
    count = max_clients / per_child
    limit = int(math.floor(count))
    if limit != count:
        limit += 1
    options['worker_server_limit'] = limit
    options['worker_max_clients'] = limit * per_child
    options['worker_start_servers'] = max(1, int(worker_initial * limit))
    options['worker_min_spare_threads'] = max(per_child,
            int(worker_min * limit) * per_child)
    options['worker_max_spare_threads'] = max(per_child,
            int(worker_max * limit) * per_child)

    if options['embedded_mode']:
        max_clients = options['processes'] * options['threads']
        for name in ('max_clients', 'server_limit', 'start_servers',
                'min_spare_servers', 'max_spare_servers'):
            options['prefork_' + name] = max_clients
        options['worker_max_clients'] = max_clients
        options['worker_server_limit'] = options['processes']
        options['worker_thread_limit'] = options['threads']
        options['worker_threads_per_child'] = options['threads']
        options['worker_start_servers'] = options['processes']
        options['worker_min_spare_threads'] = max_clients
        options['worker_max_spare_threads'] = max_clients

    # Idle keep-alive connections cost the event MPM nothing; under worker
    # and prefork they hold an Apache child (mod_wsgi-express's reasoning).
    options['event_max_keep_alive_requests'] = 0
    per_mpm = 100 if options['embedded_mode'] else 500
    options['prefork_max_keep_alive_requests'] = per_mpm
    options['worker_max_keep_alive_requests'] = per_mpm
