// charts: line charts of history samples (Chart.js from Debian's
// libjs-chart.js, loaded as a classic script: window.Chart).
export function lineChart(canvas, label, color, max) {
  return new window.Chart(canvas, {
    type: 'line',
    data: { labels: [], datasets: [{ label, data: [], borderColor: color, backgroundColor: `${color}22`, fill: true, pointRadius: 0, tension: 0.25, borderWidth: 2 }] },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: {
        x: { ticks: { maxTicksLimit: window.innerWidth < 576 ? 3 : 6, maxRotation: 0, autoSkipPadding: 16 } },
        y: { beginAtZero: true, suggestedMax: max, ticks: { maxTicksLimit: 5 } },
      },
    },
  });
}

export function setPoints(chart, samples, value) {
  chart.data.labels = samples.map((s) => new Date(s.T * 1000).toLocaleTimeString([], { hour12: false, hour: '2-digit', minute: '2-digit', second: '2-digit' }));
  chart.data.datasets[0].data = samples.map(value);
  chart.update();
}
