"""Redis: keys, connections, embedded servers, streams, consumers, leases, Lua scripts, stores."""
