/* ShopDesk console: typing (issue 17; filled by its slice). Registers with window.ShopDeskConsole. */
