"""The Python peer of the interop suite: a grpcio service that reads the ids from its
invocation metadata, forwards them (and the W3C traceparent, unchanged) on its call to the next
hop with the time it has left as that call's timeout, and cancels that call when its own RPC
ends early, as a Python service has to do by hand.

    relay.py <stubs dir> <next host:port>

The stubs dir holds relay_pb2.py and relay_pb2_grpc.py, generated from api/relay.proto with
`python3 -m grpc_tools.protoc` (Debian's grpc_tools has no runtime proto loading).

Reports to the test as JSON lines on stdout; exits when its stdin closes.
"""
import json
import sys
import threading
from concurrent import futures

import grpc

FORWARDED = ("traceparent", "tracestate", "request-id", "user-id")
lock = threading.Lock()


def emit(**fields):
    with lock:
        sys.stdout.write(json.dumps(fields) + "\n")
        sys.stdout.flush()


def main():
    stubs, next_target = sys.argv[1], sys.argv[2]
    sys.path.insert(0, stubs)
    import relay_pb2 as protos
    import relay_pb2_grpc as services
    channel = grpc.insecure_channel(next_target)
    stub = services.RelayStub(channel)

    class Relay(services.RelayServicer):
        def Hop(self, request, context):
            md = dict(context.invocation_metadata())
            remaining = context.time_remaining()
            emit(event="hop", traceparent=md.get("traceparent", ""), requestId=md.get("request-id", ""),
                 userId=md.get("user-id", ""), budgetMs=-1 if remaining is None else int(remaining * 1000))
            # How this RPC ended, set once: by the callback below when it ended before the
            # servicer answered (cancelled by its caller, or past its deadline), or here.
            ended = []
            ended_lock = threading.Lock()
            # The downstream call, once started, and whether this RPC ended first.
            downstream = {"call": None, "done": False}
            downstream_lock = threading.Lock()

            def end(how, report):
                with ended_lock:
                    if ended:
                        return
                    ended.append(how)
                if report:
                    emit(event="ctx-done", err=how)

            def on_done():
                left = context.time_remaining()
                end("deadline exceeded" if left is not None and left <= 0.01 else "cancelled", True)
                with downstream_lock:
                    downstream["done"] = True
                    call = downstream["call"]
                if call is not None:
                    call.cancel()

            # Registered before the downstream call starts: the caller may cancel as soon as the
            # next hop has the call, and a callback added after the RPC ended is never run.
            if not context.add_callback(on_done):
                on_done()
            call = stub.Hop.future(request, timeout=context.time_remaining(),
                                   metadata=[(k, md[k]) for k in FORWARDED if k in md])
            with downstream_lock:
                downstream["call"] = call
                cancel_now = downstream["done"]
            if cancel_now:
                call.cancel()
            try:
                reply = call.result()
            except grpc.RpcError as e:
                code = e.code()
                emit(event="downstream-error", code=code.value[0], codeName=code.name, message=e.details())
                if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                    end("deadline exceeded", True)  # the call's timeout was this RPC's own
                elif code != grpc.StatusCode.CANCELLED:
                    end("answered", False)
                context.abort(code, e.details() or "")
            end("answered", False)
            return protos.HopReply(served_by=reply.served_by + ",python")

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    services.add_RelayServicer_to_server(Relay(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    emit(event="listening", port=port)
    sys.stdin.read()  # the test owns this process: its stdin closing ends it
    server.stop(0)


if __name__ == "__main__":
    main()
