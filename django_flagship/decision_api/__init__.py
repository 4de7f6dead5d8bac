"""The Decision API served from the app's own bucket: ``include("django_flagship.urls")``.

One concern per module, each importing only modules listed before it (but for
:mod:`.render`, which names :class:`~.index.BucketIndex` in its types only):

- :mod:`.wire`: refusals (:class:`~.wire.ApiError`) and JSON bodies, read and written;
- :mod:`.keys`: which environment a request is for, and whether its API key opens it;
- :mod:`.parsing`: campaigns requests (v1 and v2 bodies, the GET query, flags);
- :mod:`.render`: the campaigns responses, v1 and v2, and the single campaign's answers;
- :mod:`.index`: the bucket indexed for the server (flag keys, slugs, cached fragments);
- :mod:`.groups`: decisions, with decision groups kept in the Django cache;
- :mod:`.items`: the activations and hits the server tracks, with their environment;
- :mod:`.activation`: ``v1/activate`` and ``v2/activate`` bodies, parsed and checked;
- :mod:`.limits`: what one client may send to the activation endpoints;
- :mod:`.trackers`: one tracker per served environment, closed on
  :data:`~django_flagship.signals.runtime_reset`;
- :mod:`.views` and :mod:`.urls`: the endpoints, which chain the steps above.

The settings it reads are the Django layer's (:mod:`django_flagship.served_conf`),
so ``manage.py check`` validates them without importing the server; nothing
in the Django layer imports this package.
"""
