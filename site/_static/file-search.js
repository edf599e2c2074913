// From file:// the browser refuses fetch(), which Sphinx's search uses to show a
// summary under each result; the results themselves come from searchindex.js.
// Without the summaries the search page then works offline and logs no error.
if (window.location.protocol === "file:") {
  DOCUMENTATION_OPTIONS.SHOW_SEARCH_SUMMARY = false;
}
