// A select marked data-autosubmit submits its form when changed (the pages carry no inline
// script: the Content-Security-Policy allows scripts from this server only).
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) {
    event.target.form.submit();
  }
});
