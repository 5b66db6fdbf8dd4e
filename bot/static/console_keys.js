/* ShopDesk console: keys (issue 17; filled by its slice). Registers with window.ShopDeskConsole. */
