/** What the plots page embeds: one chart per plot file and per metric across the recorded runs. */

export interface PlotSeries {
  name: string;
  /** [x, y]; with `xLabels`, x is an index into them */
  points: [number, number][];
}

export interface Plot {
  title: string;
  /** where the numbers come from: a plot file, or the run history */
  source: string;
  xLabel: string;
  /** a categorical x axis (film names, run ids): x is the index */
  xLabels?: string[];
  series: PlotSeries[];
}

export interface PlotsData {
  title: string;
  plots: Plot[];
  /** plot files that could not be drawn, and why */
  problems: { file: string; why: string }[];
}

export const PLOTS_DATA_ID = 'pipe-plots-data';
