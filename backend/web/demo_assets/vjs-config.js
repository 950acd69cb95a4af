// Loaded before video.js: under this page's strict CSP video.js must not inject <style> elements.
window.VIDEOJS_NO_DYNAMIC_STYLE = true;
