/* ShopDesk console: risk (issue 17; filled by its slice). Registers with window.ShopDeskConsole. */
