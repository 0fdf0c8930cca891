/**
 * The TAO Lab icon: a tau in a hexagon, one path coloured by the theme (`jp-icon3`).
 */
import { LabIcon } from '@jupyterlab/ui-components';

const TAO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path fill-rule="evenodd" d="M12 1.5 21.1 6.75v10.5L12 22.5 2.9 17.25V6.75Zm0 2.3L4.9 7.9v8.2l7.1 4.1 7.1-4.1V7.9Z"/>
    <path d="M7.2 8.6h9.6v2h-3.7v4.3c0 .8.4 1.2 1.1 1.2.4 0 .8-.1 1.1-.2l.3 1.8c-.5.2-1.1.3-1.8.3-1.9 0-2.9-1-2.9-2.9v-4.5H7.2Z"/>
  </g>
</svg>`;

export const taoIcon = new LabIcon({ name: 'tao-lab:tao', svgstr: TAO_SVG });
