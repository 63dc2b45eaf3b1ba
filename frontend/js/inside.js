// "Look inside": what drove the answer and what each convolution layer saw (README, the
// prediction's `explanation`). The heat map comes as a grayscale 28×28 PNG; it is coloured
// here (transparent where cold, red to yellow where hot) and laid over the preview, so the
// drawer sees which strokes the model leaned on. Layers come as PNG mosaics of their most
// active channels, shown as they are, one figure per layer, updated in place.

import { formatNumber, t } from "./i18n.js";
import { element, pngDataUrl } from "./view.js";

const HOT_ALPHA = 210; // the hottest pixel is this opaque: the preview stays visible under it

let shown = 0; // the newest heat map asked for: an older one that decodes later is dropped

// Colour the heat map onto `canvas` (28×28); nothing is drawn for a missing or foreign value.
export async function showHeatmap(canvas, dataUrl) {
  const ticket = ++shown;
  const source = pngDataUrl(dataUrl);
  if (!source) return clearHeatmap(canvas);
  const image = new Image();
  image.src = source;
  try {
    await image.decode();
  } catch {
    return;
  }
  if (ticket !== shown) return;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.drawImage(image, 0, 0, canvas.width, canvas.height);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
  const data = pixels.data;
  for (let i = 0; i < data.length; i += 4) {
    const heat = data[i] / 255; // gray: r = g = b
    data[i] = 255;
    data[i + 1] = Math.round(230 * heat * heat);
    data[i + 2] = 0;
    data[i + 3] = Math.round(HOT_ALPHA * heat);
  }
  context.putImageData(pixels, 0, 0);
  canvas.dataset.state = "shown";
}

export function clearHeatmap(canvas) {
  shown += 1;
  canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  canvas.dataset.state = "empty";
}

// One figure per convolution layer, input to output: its mosaic and what it shows.
export function showLayers(container, layers) {
  while (container.children.length > layers.length) container.lastElementChild.remove();
  layers.forEach((layer, index) => {
    let figure = container.children[index];
    if (!figure) {
      figure = element("figure", { className: "layer", attributes: { "data-testid": `layer-${index + 1}` } });
      figure.append(element("img", { attributes: { width: 160, height: 160 } }), element("figcaption"));
      container.append(figure);
    }
    const [height, width, channels] = layer.shape;
    const caption = t("inside.layerCaption", {
      number: formatNumber(index + 1),
      name: layer.name,
      shown: formatNumber(layer.channels.length),
      channels: formatNumber(channels),
      height: formatNumber(height),
      width: formatNumber(width),
    });
    const image = figure.querySelector("img");
    image.src = pngDataUrl(layer.mosaic);
    image.alt = t("inside.layerAlt", { caption });
    figure.querySelector("figcaption").textContent = caption;
  });
}

export function clearLayers(container) {
  container.replaceChildren();
}
