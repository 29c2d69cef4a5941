import gc

from cfp import create_app

app = create_app()
# What the app made at start (modules, models, mappers, routes) lives as long as the
# process: out of the garbage collector's full passes, which otherwise walk all of it
# again and again while a page allocates (the joint ranking of 10,000 proposals: a third
# of its CPU time). gc.freeze() is meant for this; cycles made later are collected as before.
gc.freeze()
