// Runs before the page paints (not deferred): marks that JavaScript runs, so menus start closed
// on phones and confirmation dialogs replace their in-page fallbacks without a flash.
document.documentElement.classList.add("js");
