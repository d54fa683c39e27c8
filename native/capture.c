// Live capture for the tapper: libpcap through Node-API, with every handle's life in our hands.
//
// Why our own addon and not the `pcap` npm package: pcap 3.1.0 stops a closed handle's libuv
// poll but never closes it, and keeps the uv_poll_t inside the object the garbage collector
// frees, so a collected session left a dangling node in libuv's handle queue (glibc aborted the
// tapper with "free(): invalid pointer" and "corrupted double-linked list" in one suite run of
// three). Its close() also only broke libpcap's loop, leaving the socket and kernel ring open
// until another packet came. Here close() is synchronous and complete, the poll handle lives
// on its own allocation freed by libuv's close callback, and packets reach JavaScript in
// batches (one call per wake-up, not one per packet). A handle can be opened inside another
// network namespace (a pod's, for mesh capture) without the process leaving its own.
//
// Entering that way, not a child capture process under nsenter: the packets stay in-process,
// in the same batches as the node handle's (a child would copy every packet through a pipe
// and cost a process per pod), and only the open runs in the pod's namespace.
// test/capture/live.test.ts shows the handle capturing a namespace's loopback, not the host's;
// test/kube/mesh-shop.test.ts the shop's calls captured so inside the payments pod.
//
// No node-pre-gyp: the addon is one `cc` call against libpcap and Node's headers, run in the
// image's build stage (tapper-image/Dockerfile) and by scripts/build-addon.mjs for the tests.
// Only the tapper loads it, and the tapper ships as an image built for one Node and one libc,
// so there is no prebuilt binary to choose per platform and no install-time build to fall back
// to: the CLI (what `make dist` packages) never loads it.
//
// Batch layout in the Buffer the caller gives: per packet, four little-endian uint32 (tv_sec,
// tv_usec, caplen, len) then caplen bytes, padded to 4 bytes. The callback gets (count, bytes);
// the contents are valid only until it returns, as the engine's Frame contract says.

#define _GNU_SOURCE // setns
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pcap/pcap.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

typedef struct {
  napi_env env;
  pcap_t *pcap;          // NULL once closed
  uv_poll_t *poll;       // NULL once closed; freed by libuv's close callback
  napi_ref on_batch;     // function(count, bytes)
  napi_ref batch_ref;    // the caller's Buffer, kept alive while we write into it
  uint8_t *batch;
  size_t batch_size;
  size_t snaplen;
  napi_async_context async;
} session_t;

#define HEADER_BYTES 16
// A wake-up delivers at most this many batches before yielding to the event loop, so a flood
// on one handle cannot starve the tapper's HTTP server (the kernel ring buffers the rest).
#define MAX_BATCHES_PER_WAKE 16

static void free_poll(uv_handle_t *handle) { free(handle); }

static void close_session(session_t *s) {
  if (s->poll != NULL) {
    uv_close((uv_handle_t *)s->poll, free_poll); // also stops it and takes the fd out of epoll
    s->poll = NULL;
  }
  if (s->pcap != NULL) {
    pcap_close(s->pcap); // the socket and its kernel ring, now
    s->pcap = NULL;
  }
}

static void deliver(session_t *s, uint32_t count, size_t used) {
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value callback, receiver, argv[2], result;
  napi_get_reference_value(env, s->on_batch, &callback);
  napi_get_global(env, &receiver);
  napi_create_uint32(env, count, &argv[0]);
  napi_create_uint32(env, (uint32_t)used, &argv[1]);
  if (napi_make_callback(env, s->async, receiver, callback, 2, argv, &result) == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error); // as an exception thrown in any other event callback
  }
  napi_close_handle_scope(env, scope);
}

// Reads what the kernel has into the batch, hands it over, and repeats while packets keep coming.
static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)status;
  (void)events;
  session_t *s = handle->data;
  for (int round = 0; round < MAX_BATCHES_PER_WAKE && s->pcap != NULL; round++) {
    size_t used = 0;
    uint32_t count = 0;
    int more = 0;
    while (used + HEADER_BYTES + s->snaplen <= s->batch_size) {
      struct pcap_pkthdr *header;
      const u_char *data;
      int r = pcap_next_ex(s->pcap, &header, &data);
      if (r != 1) { more = 0; break; } // 0: nothing left now; negative: reported by stats/close
      more = 1;
      uint32_t fields[4] = {(uint32_t)header->ts.tv_sec, (uint32_t)header->ts.tv_usec, header->caplen, header->len};
      memcpy(s->batch + used, fields, HEADER_BYTES);
      memcpy(s->batch + used + HEADER_BYTES, data, header->caplen);
      used += (HEADER_BYTES + header->caplen + 3) & ~(size_t)3;
      count++;
    }
    if (count > 0) deliver(s, count, used); // may close the session: checked by the loop
    if (!more) break;
  }
}

static void finalize_session(napi_env env, void *data, void *hint) {
  (void)hint;
  session_t *s = data;
  close_session(s);
  napi_delete_reference(env, s->on_batch);
  napi_delete_reference(env, s->batch_ref);
  napi_async_destroy(env, s->async);
  free(s);
}

static session_t *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  napi_get_cb_info(env, info, argc, argv, &self, NULL);
  if (napi_unwrap(env, self, &data) != napi_ok) {
    napi_throw_type_error(env, NULL, "not a capture handle");
    return NULL;
  }
  return data;
}

// A copy of a JS string (a filter for many pods is long); NULL and a TypeError if not a string.
static char *string_arg(napi_env env, napi_value value) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a string");
    return NULL;
  }
  char *copy = malloc(length + 1);
  if (copy != NULL) napi_get_value_string_utf8(env, value, copy, length + 1, &length);
  return copy;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  session_t *s = unwrap(env, info, &argc, NULL);
  if (s != NULL) close_session(s);
  return NULL;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  session_t *s = unwrap(env, info, &argc, NULL);
  if (s == NULL) return NULL;
  if (s->pcap == NULL) {
    napi_throw_error(env, NULL, "capture handle closed");
    return NULL;
  }
  struct pcap_stat ps;
  if (pcap_stats(s->pcap, &ps) != 0) {
    napi_throw_error(env, NULL, pcap_geterr(s->pcap));
    return NULL;
  }
  napi_value result, value;
  napi_create_object(env, &result);
  napi_create_uint32(env, ps.ps_recv, &value);
  napi_set_named_property(env, result, "received", value);
  napi_create_uint32(env, ps.ps_drop, &value);
  napi_set_named_property(env, result, "dropped", value);
  napi_create_uint32(env, ps.ps_ifdrop, &value);
  napi_set_named_property(env, result, "interfaceDropped", value);
  return result;
}

// Creates, configures and activates a handle with its filter. On failure: NULL, and `error`
// says why in libpcap's words.
static pcap_t *open_pcap(const char *device, const char *filter, int snaplen, int buffer_bytes, int timeout_ms, char *error) {
  pcap_t *pcap = pcap_create(device, error);
  if (pcap == NULL) return NULL;
  pcap_set_snaplen(pcap, snaplen);
  pcap_set_promisc(pcap, 0);
  pcap_set_buffer_size(pcap, buffer_bytes);
  // 0: immediate mode (TPACKET_V2 on Linux: each packet is readable as soon as it is captured);
  // otherwise block mode (TPACKET_V3) with that timeout, which packs many packets per block.
  if (timeout_ms > 0) pcap_set_timeout(pcap, timeout_ms);
  pcap_set_immediate_mode(pcap, timeout_ms <= 0);
  int status = pcap_activate(pcap);
  if (status < 0) {
    // libpcap's own text when it left one (e.g. "socket: Operation not permitted"), else the status's.
    const char *detail = pcap_geterr(pcap);
    snprintf(error, PCAP_ERRBUF_SIZE, "%s", detail[0] != '\0' ? detail : pcap_statustostr(status));
  } else if (pcap_setnonblock(pcap, 1, error) == 0 && filter[0] == '\0') {
    return pcap;
  } else if (filter[0] != '\0') {
    struct bpf_program program;
    if (pcap_compile(pcap, &program, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
      snprintf(error, PCAP_ERRBUF_SIZE, "invalid capture filter: %s", pcap_geterr(pcap));
    } else {
      int set = pcap_setfilter(pcap, &program);
      pcap_freecode(&program);
      if (set == 0) return pcap;
      snprintf(error, PCAP_ERRBUF_SIZE, "%s", pcap_geterr(pcap));
    }
  }
  pcap_close(pcap);
  return NULL;
}

// The same inside another network namespace (a pod's: mesh capture). The packet socket belongs
// to the namespace it was made in, so this thread enters it, opens the handle, and comes back
// before any other code runs on it. A thread that cannot come back would make every later
// socket of the process in the pod's namespace: that aborts the process instead.
static pcap_t *open_pcap_in(const char *netns, const char *device, const char *filter, int snaplen, int buffer_bytes, int timeout_ms, char *error) {
  int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = open(netns, O_RDONLY | O_CLOEXEC);
  pcap_t *pcap = NULL;
  if (home < 0 || target < 0) {
    snprintf(error, PCAP_ERRBUF_SIZE, "%s: %s", target < 0 ? netns : "/proc/thread-self/ns/net", strerror(errno));
  } else if (setns(target, CLONE_NEWNET) != 0) {
    snprintf(error, PCAP_ERRBUF_SIZE, "entering %s: %s", netns, strerror(errno));
  } else {
    pcap = open_pcap(device, filter, snaplen, buffer_bytes, timeout_ms, error);
    if (setns(home, CLONE_NEWNET) != 0) napi_fatal_error("capture", NAPI_AUTO_LENGTH, "cannot return to the node's network namespace", NAPI_AUTO_LENGTH);
  }
  if (home >= 0) close(home);
  if (target >= 0) close(target);
  return pcap;
}

// open(device, filter, snaplen, bufferBytes, timeoutMs, batch: Buffer, onBatch, netns: string) -> handle
// netns "" is the calling thread's own network namespace.
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 8) {
    napi_throw_type_error(env, NULL, "open takes 8 arguments");
    return NULL;
  }
  int32_t snaplen, buffer_bytes, timeout_ms;
  if (napi_get_value_int32(env, argv[2], &snaplen) != napi_ok || snaplen <= 0 ||
      napi_get_value_int32(env, argv[3], &buffer_bytes) != napi_ok || buffer_bytes <= 0 ||
      napi_get_value_int32(env, argv[4], &timeout_ms) != napi_ok || timeout_ms < 0) {
    napi_throw_type_error(env, NULL, "snaplen, buffer size and timeout must be numbers");
    return NULL;
  }
  void *batch;
  size_t batch_size;
  bool is_buffer = false;
  napi_valuetype callback_type;
  napi_is_buffer(env, argv[5], &is_buffer);
  napi_typeof(env, argv[6], &callback_type);
  if (!is_buffer || callback_type != napi_function) {
    napi_throw_type_error(env, NULL, "expected a batch Buffer and a callback");
    return NULL;
  }
  napi_get_buffer_info(env, argv[5], &batch, &batch_size);
  if (batch_size < HEADER_BYTES + (size_t)snaplen) {
    napi_throw_range_error(env, NULL, "the batch buffer must hold at least one packet of snaplen bytes");
    return NULL;
  }

  char *device = string_arg(env, argv[0]);
  char *filter = device == NULL ? NULL : string_arg(env, argv[1]);
  char *netns = filter == NULL ? NULL : string_arg(env, argv[7]);
  char error[PCAP_ERRBUF_SIZE] = "";
  pcap_t *pcap = netns == NULL ? NULL
      : netns[0] == '\0' ? open_pcap(device, filter, snaplen, buffer_bytes, timeout_ms, error)
      : open_pcap_in(netns, device, filter, snaplen, buffer_bytes, timeout_ms, error);
  free(device);
  free(filter);
  free(netns);
  if (pcap == NULL) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, NULL, error);
    return NULL;
  }
  int fd = pcap_get_selectable_fd(pcap);
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_t *poll = malloc(sizeof *poll);
  session_t *s = calloc(1, sizeof *s);
  if (fd < 0 || poll == NULL || s == NULL || uv_poll_init(loop, poll, fd) != 0) {
    free(poll);
    free(s);
    pcap_close(pcap);
    napi_throw_error(env, NULL, "cannot poll the capture handle");
    return NULL;
  }
  s->env = env;
  s->pcap = pcap;
  s->poll = poll;
  s->batch = batch;
  s->batch_size = batch_size;
  s->snaplen = (size_t)snaplen;
  poll->data = s;

  napi_value handle, name, value;
  napi_create_object(env, &handle);
  napi_create_reference(env, argv[6], 1, &s->on_batch);
  napi_create_reference(env, argv[5], 1, &s->batch_ref);
  napi_create_string_utf8(env, "kubectl-tap:capture", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, handle, name, &s->async);
  napi_create_int32(env, pcap_datalink(pcap), &value);
  napi_set_named_property(env, handle, "linkType", value);
  napi_property_descriptor methods[] = {
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, handle, 2, methods);
  napi_wrap(env, handle, s, finalize_session, NULL, NULL);
  uv_poll_start(poll, UV_READABLE, on_readable);
  return handle;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value open, version;
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, js_open, NULL, &open);
  napi_set_named_property(env, exports, "open", open);
  napi_create_string_utf8(env, pcap_lib_version(), NAPI_AUTO_LENGTH, &version);
  napi_set_named_property(env, exports, "libpcapVersion", version);
  return exports;
}

NAPI_MODULE(kubectl_tap_capture, init)
