-- kamtest's KEMI exports called from Lua: KSR.kamtest.<function>.
function ksr_request_route()
	local user = KSR.pv.get("$rU")
	if user == "len" then
		local n = KSR.kamtest.kt_kemi_len(KSR.pv.get("$fU"), "xy")
		KSR.sl.sl_send_reply(200, "Len " .. n)
	elseif user == "count" then
		KSR.kamtest.kt_kemi_count()
		KSR.sl.sl_send_reply(200, "Counted")
	else
		KSR.sl.sl_send_reply(404, "Unknown")
	end
end
