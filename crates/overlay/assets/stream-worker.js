// live-standings: one nudge stream per tournament for every overlay page of this browser.
// A browser allows 6 HTTP/1.1 connections per host (across tabs, and across OBS browser
// sources, which share one CEF): six widgets each holding an EventSource would leave none for
// their fetches. Pages subscribe here instead (see core.js `follow`).
'use strict';
const streams = new Map();

function connect(slug, stream) {
  const source = new EventSource('/v1/stream?tournament=' + encodeURIComponent(slug));
  stream.source = source;
  const send = (message) => {
    for (const port of stream.ports) port.postMessage(message);
  };
  source.onopen = () => {
    stream.open = true;
    send({ type: 'open' });
  };
  for (const kind of ['hello', 'resync', 'standings', 'matches', 'live']) {
    source.addEventListener(kind, () => send({ type: 'nudge', kind }));
  }
  source.onerror = () => {
    stream.open = false;
    send({ type: 'error' });
    // EventSource retries by itself unless the server refused the stream.
    if (source.readyState === EventSource.CLOSED) {
      setTimeout(() => {
        if (stream.ports.size) connect(slug, stream);
      }, 30000);
    }
  };
}

function follow(slug, port) {
  let stream = streams.get(slug);
  if (!stream) {
    stream = { ports: new Set(), open: false, source: null };
    streams.set(slug, stream);
    connect(slug, stream);
  }
  stream.ports.add(port);
  if (stream.open) {
    port.postMessage({ type: 'open' });
    // The page fetched before subscribing: a nudge in between would be lost.
    port.postMessage({ type: 'nudge', kind: 'hello' });
  }
}

function leave(port) {
  for (const [slug, stream] of streams) {
    stream.ports.delete(port);
    if (!stream.ports.size) {
      if (stream.source) stream.source.close();
      streams.delete(slug);
    }
  }
}

self.onconnect = (event) => {
  const port = event.ports[0];
  port.onmessage = (message) => {
    const data = message.data || {};
    if (data.type === 'follow') follow(String(data.slug), port);
    else if (data.type === 'leave') leave(port);
  };
  port.start();
};
