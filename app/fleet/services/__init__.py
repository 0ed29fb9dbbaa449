"""Fleet operations: network (routes, fares), buses, trips and timetables, bus swaps."""
