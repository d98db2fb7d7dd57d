// VideoPlayer front end: a plain ES module for anywidget (no bundler).
//
// The video's bytes are not in the widget state: on render, the view asks the kernel for each file
// with a custom message and assembles the chunked answer into a Blob URL. When no kernel answers
// (a saved notebook opened later), the poster comes from `poster_data` and the video from
// `fallback_src` through Jupyter's /files/ handler. All server or user text goes in with
// textContent, never as HTML.

/**
 * @typedef {{
 *   video_name: string, thumbnail_name: string, spritesheet_name: string,
 *   title: string, caption: string,
 *   sprite_columns: number, sprite_rows: number, sprite_count: number,
 *   poster_data: string, fallback_src: string, files_path: string, fallback_after: number,
 * }} PlayerState
 *
 * @typedef {{
 *   get<K extends keyof PlayerState>(name: K): PlayerState[K],
 *   on(event: string, callback: (...args: any[]) => void): void,
 *   off(event: string, callback?: (...args: any[]) => void): void,
 *   send(content: object, callbacks?: unknown, buffers?: ArrayBuffer[]): void,
 * }} PlayerModel
 *
 * @typedef {{
 *   type: "chunk", request: string, variant: string, index: number, count: number,
 *   size: number, mime: string, name: string,
 * } | { type: "error", request: string, variant: string, message: string }} PlayerMessage
 *
 * @typedef {{ parts: (ArrayBuffer | ArrayBufferView)[], received: number, count: number }} Pending
 */

const VARIANTS = /** @type {const} */ (["video", "thumbnail", "spritesheet"]);

/** @returns {string} an id that tells this view's answers from another view's */
function requestId() {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Resolve a notebook-relative path to a URL the Jupyter server serves (`{base}files/{dir}/{path}`):
 * from `filesPath` (the path from the server's root, known to the kernel) when given, else from the
 * page's address; outside Jupyter pages the path stays relative to the page.
 * @param {string} src
 * @param {string} [filesPath]
 * @param {string | null} [notebookPath] the notebook's path from the server's root, if the page knows it
 * @returns {string}
 */
export function resolveFallback(src, filesPath = "", notebookPath = null) {
  if (!src || /^[a-z][a-z0-9+.-]*:/i.test(src) || src.startsWith("/")) return src;
  let base = "/";
  const config = document.getElementById("jupyter-config-data");
  if (config?.textContent) {
    try {
      base = JSON.parse(config.textContent).baseUrl || "/";
    } catch {
      // keep "/"
    }
  }
  if (!base.endsWith("/")) base += "/";
  // The kernel knows the notebook's own folder: never guess it from the browser's address
  // (JupyterLab's moves to the folder when the file browser does).
  if (filesPath) return `${base}files/${filesPath}`;
  if (notebookPath !== null) {
    const dir = notebookPath.includes("/") ? notebookPath.slice(0, notebookPath.lastIndexOf("/") + 1) : "";
    return `${base}files/${dir}${src}`;
  }
  const path = window.location.pathname;
  if (!path.startsWith(base)) return src;
  const rest = path.slice(base.length);
  const match = /^(?:lab\/(?:workspaces\/[^/]+\/)?tree|doc\/(?:workspaces\/[^/]+\/)?tree|notebooks|voila\/render)\/(.*)$/.exec(rest);
  if (!match) return src;
  const notebook = match[1];
  const dir = notebook.includes("/") ? notebook.slice(0, notebook.lastIndexOf("/") + 1) : "";
  return `${base}files/${dir}${src}`;
}

/**
 * The path of the notebook this view is in, from the server's root, as the page's widget manager
 * knows it (JupyterLab and Notebook 7 keep the document's context there); null when unknown.
 * @param {any} model
 * @returns {string | null}
 */
function notebookPathOf(model) {
  try {
    const manager = model?.widget_manager;
    const context = manager?.context ?? manager?._context;
    const path = context?.path;
    return typeof path === "string" && path.endsWith(".ipynb") ? path : null;
  } catch {
    return null;
  }
}

/** @param {number} seconds */
function formatTime(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  const m = Math.floor(seconds / 60);
  const s = Math.floor(seconds % 60);
  return `${m}:${String(s).padStart(2, "0")}`;
}

/**
 * @param {string} tag
 * @param {string} className
 * @param {HTMLElement} [parent]
 */
function make(tag, className, parent) {
  const node = document.createElement(tag);
  node.className = className;
  if (parent) parent.appendChild(node);
  return node;
}

/** @param {{ model: PlayerModel, el: HTMLElement }} context */
function render({ model, el }) {
  const root = make("div", "sora-player", el);

  const stage = make("div", "sora-player-stage", root);
  const video = /** @type {HTMLVideoElement} */ (make("video", "sora-player-video", stage));
  video.controls = true;
  video.muted = true;
  video.defaultMuted = true;
  video.playsInline = true;
  video.preload = "metadata";
  video.setAttribute("muted", "");
  video.setAttribute("playsinline", "");

  const tooltip = make("div", "sora-player-sprite", stage);
  const tile = make("div", "sora-player-sprite-tile", tooltip);
  const tileTime = make("div", "sora-player-sprite-time", tooltip);
  tooltip.hidden = true;

  const notice = make("div", "sora-player-notice", stage);
  notice.hidden = true;

  const meta = make("div", "sora-player-meta", root);
  const title = make("div", "sora-player-title", meta);
  const caption = make("div", "sora-player-caption", meta);
  const download = /** @type {HTMLAnchorElement} */ (make("a", "sora-player-download", meta));
  // the length, as soon as the video's header is read (the controls say 0:00 until the bytes come)
  const length = make("span", "sora-player-length", meta);
  length.textContent = "loading the video…";
  video.addEventListener("loadedmetadata", () => {
    length.textContent = Number.isFinite(video.duration) ? `length ${formatTime(video.duration)}` : "";
  });

  /** @type {Map<string, string>} blob URLs by variant, revoked on cleanup */
  const urls = new Map();
  /** @type {Map<string, Pending>} */
  const pending = new Map();
  const request = requestId();
  let usingFallback = false;
  let disposed = false;

  /** @type {{ width: number, height: number } | null} */
  let spriteSize = null;

  function renderText() {
    title.textContent = model.get("title");
    title.title = model.get("title");
    title.hidden = !model.get("title");
    caption.textContent = model.get("caption");
    caption.hidden = !model.get("caption");
    const name = model.get("video_name");
    download.textContent = name ? `⬇ ${name}` : "";
    download.download = name;
    download.hidden = !name;
  }

  function renderPoster() {
    if (!urls.has("thumbnail")) {
      const poster = model.get("poster_data");
      if (poster) video.poster = poster;
    }
  }

  function useFallback() {
    if (disposed || urls.has("video") || usingFallback) return;
    const filesPath = model.get("files_path") || "";
    const notebookPath = notebookPathOf(model);
    const src = resolveFallback(model.get("fallback_src"), filesPath, notebookPath);
    if (!src) {
      showNotice("The video is not available: no kernel answered and it has no file path.");
      return;
    }
    usingFallback = true;
    // where the folder came from, for whoever wonders why a URL was asked (and for tests)
    video.dataset.fallbackFrom = filesPath ? "kernel" : notebookPath !== null ? "notebook" : "address";
    video.src = src;
    if (!download.getAttribute("href")) download.href = src;
  }

  /** @param {string} text */
  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = false;
  }

  /**
   * @param {string} variant
   * @param {Blob} blob
   */
  function apply(variant, blob) {
    const url = URL.createObjectURL(blob);
    const old = urls.get(variant);
    urls.set(variant, url);
    if (variant === "video") {
      // A fallback that already plays stays: swapping sources would interrupt the viewer.
      if (!usingFallback || video.error || video.readyState === 0) {
        usingFallback = false;
        notice.hidden = true;
        video.src = url;
      }
      download.href = url;
    } else if (variant === "thumbnail") {
      video.poster = url;
    } else if (variant === "spritesheet") {
      const image = new Image();
      image.onload = () => {
        spriteSize = { width: image.naturalWidth, height: image.naturalHeight };
      };
      image.src = url;
      tile.style.backgroundImage = `url("${url}")`;
    }
    if (old) URL.revokeObjectURL(old);
  }

  /**
   * @param {PlayerMessage} msg
   * @param {(ArrayBuffer | ArrayBufferView)[]} [buffers]
   */
  function onMessage(msg, buffers) {
    if (!msg || msg.request !== request) return;
    if (msg.type === "error") {
      if (msg.variant === "video") {
        useFallback();
        if (!usingFallback) showNotice(msg.message);
      }
      return;
    }
    if (msg.type !== "chunk" || !buffers || buffers.length === 0) return;
    let entry = pending.get(msg.variant);
    if (!entry || entry.count !== msg.count) {
      entry = { parts: new Array(msg.count), received: 0, count: msg.count };
      pending.set(msg.variant, entry);
    }
    if (entry.parts[msg.index] === undefined) entry.received += 1;
    entry.parts[msg.index] = buffers[0];
    if (entry.received === entry.count) {
      pending.delete(msg.variant);
      apply(msg.variant, new Blob(entry.parts, { type: msg.mime }));
    }
  }

  /** @param {MouseEvent} event */
  function onHover(event) {
    const count = model.get("sprite_count");
    const columns = model.get("sprite_columns");
    const rows = model.get("sprite_rows");
    if (!spriteSize || count < 1 || columns < 1 || rows < 1) return;
    const box = video.getBoundingClientRect();
    if (box.width <= 0) return;
    const fraction = Math.min(0.999999, Math.max(0, (event.clientX - box.left) / box.width));
    const index = Math.min(count - 1, Math.floor(fraction * count));
    const tileWidth = spriteSize.width / columns;
    const tileHeight = spriteSize.height / rows;
    // Shown at most 160 px wide, in the tile's own aspect ratio.
    const scale = Math.min(1, 160 / tileWidth);
    tile.style.width = `${tileWidth * scale}px`;
    tile.style.height = `${tileHeight * scale}px`;
    tile.style.backgroundSize = `${spriteSize.width * scale}px ${spriteSize.height * scale}px`;
    const x = (index % columns) * tileWidth * scale;
    const y = Math.floor(index / columns) * tileHeight * scale;
    tile.style.backgroundPosition = `-${x}px -${y}px`;
    tileTime.textContent = formatTime(fraction * video.duration);
    const left = Math.min(
      Math.max(0, event.clientX - box.left - (tileWidth * scale) / 2),
      Math.max(0, box.width - tileWidth * scale),
    );
    tooltip.style.left = `${left}px`;
    tooltip.dataset.index = String(index);
    tooltip.hidden = false;
  }

  function onLeave() {
    tooltip.hidden = true;
  }

  function onVideoError() {
    if (usingFallback) {
      showNotice(
        "The video could not be loaded: the kernel did not answer and the file is not reachable.",
      );
    }
  }

  renderText();
  renderPoster();
  model.on("change:title", renderText);
  model.on("change:caption", renderText);
  model.on("change:video_name", renderText);
  model.on("change:poster_data", renderPoster);
  model.on("msg:custom", onMessage);
  video.addEventListener("mousemove", onHover);
  video.addEventListener("mouseleave", onLeave);
  video.addEventListener("error", onVideoError);

  const names = {
    video: model.get("video_name"),
    thumbnail: model.get("thumbnail_name"),
    spritesheet: model.get("spritesheet_name"),
  };
  for (const variant of VARIANTS) {
    if (names[variant]) model.send({ type: "request", variant, request });
  }
  const timer = setTimeout(
    () => {
      if (!urls.has("video") && !pending.has("video")) useFallback();
    },
    Math.max(0, model.get("fallback_after")) * 1000,
  );

  return () => {
    disposed = true;
    clearTimeout(timer);
    model.off("change:title", renderText);
    model.off("change:caption", renderText);
    model.off("change:video_name", renderText);
    model.off("change:poster_data", renderPoster);
    model.off("msg:custom", onMessage);
    video.removeEventListener("mousemove", onHover);
    video.removeEventListener("mouseleave", onLeave);
    video.removeEventListener("error", onVideoError);
    video.removeAttribute("src");
    video.load();
    for (const url of urls.values()) URL.revokeObjectURL(url);
    urls.clear();
    pending.clear();
    root.remove();
  };
}

export default { render };
