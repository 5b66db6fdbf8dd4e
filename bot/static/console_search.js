/* ShopDesk console: search (issue 17; filled by its slice). Registers with window.ShopDeskConsole. */
