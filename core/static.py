"""WhiteNoise in both middleware modes.

WhiteNoise's middleware is sync only. Under ASGI a sync-only middleware high in the list
splits the chain: every request hopped to a worker thread for it, back to the event loop for
the async middleware below it, and to a thread again for the view. A bare JSON view cost
about 30 ms of CPU a request under load in daphne (bench/http.py). Here the static lookup
(a dict) runs on the loop; only serving a file, which opens it, goes to a thread.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, *args, **kwargs):
        super().__init__(get_response, *args, **kwargs)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        return super().__call__(request)

    async def _acall(self, request):
        if self.autorefresh:  # DEBUG: looks on disk
            static_file = await sync_to_async(self.find_file)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            return await sync_to_async(self.serve)(static_file, request)
        return await self.get_response(request)
