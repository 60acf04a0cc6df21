/** The page's stylesheet. */
export const PAGE_STYLE = `
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; background: #fff; }
body { display: grid; grid-template-rows: auto 1fr; grid-template-columns: 1fr 360px; height: 100vh; }
header { grid-column: 1 / 3; display: flex; gap: 12px; align-items: center; padding: 8px 14px; border-bottom: 1px solid #d0d7de; background: #f6f8fa; }
header h1 { font-size: 15px; margin: 0 12px 0 0; white-space: nowrap; }
header input { width: 260px; padding: 5px 9px; border: 1px solid #d0d7de; border-radius: 6px; font: inherit; }
#search-info { color: #57606a; font-size: 12px; min-width: 70px; }
button { font: inherit; font-size: 12.5px; padding: 4px 10px; border: 1px solid #d0d7de; border-radius: 6px; background: #fff; cursor: pointer; }
button:hover { background: #f3f4f6; }
#group-buttons { display: flex; gap: 6px; }
.spacer { flex: 1; }
.hint { color: #57606a; font-size: 12px; white-space: nowrap; }
main { position: relative; min-width: 0; min-height: 0; }
#graph { position: absolute; inset: 0; }
#graph.failed { padding: 40px; color: #cf222e; }
#legend { position: absolute; left: 12px; bottom: 12px; background: rgba(255,255,255,.92); border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 12px; font-size: 12.5px; pointer-events: none; }
.legend-row { display: flex; align-items: center; gap: 8px; }
.legend-total { color: #57606a; margin-top: 4px; }
.dot { width: 11px; height: 11px; border-radius: 50%; display: inline-block; }
aside { border-left: 1px solid #d0d7de; overflow: auto; padding: 14px 16px; background: #fff; }
aside h2 { font-size: 16px; margin: 0 0 4px; word-break: break-all; }
aside h3 { font-size: 11.5px; text-transform: uppercase; letter-spacing: .04em; color: #57606a; margin: 14px 0 4px; }
aside pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px; white-space: pre-wrap; word-break: break-all; margin: 0; font-size: 12.5px; }
aside ul { margin: 0; padding-left: 18px; }
aside li { word-break: break-all; }
aside code { font-size: 12.5px; }
aside a { color: #0969da; text-decoration: none; }
aside a:hover { text-decoration: underline; }
.desc { margin: 0 0 2px; }
.kind { margin: 0; color: #57606a; font-size: 12px; }
.muted { color: #8c959f; }
.badge { display: inline-block; border: 1px solid; border-radius: 12px; padding: 1px 10px; font-weight: 600; font-size: 12.5px; margin-bottom: 4px; }
.actions { margin-top: 14px; display: flex; gap: 6px; flex-wrap: wrap; }
ul.todo { list-style: none; padding-left: 0; }
ul.todo li { margin: 0 0 6px; word-break: normal; overflow-wrap: anywhere; }
ul.todo .reason { color: #57606a; font-size: 12.5px; margin-left: 16px; }
`;
