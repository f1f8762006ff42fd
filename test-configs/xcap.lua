-- XCAP requests handled by KSR.xcap_server.* for the owner sip:alice@example.com.
function ksr_request_route()
	KSR.sl.sl_send_reply(404, "Not here")
end

function ksr_xhttp_event(evname)
	local owner = "sip:alice@example.com"
	local path = KSR.pv.get("$hu")
	local method = KSR.pv.get("$rm")
	if method == "PUT" then
		KSR.xcap_server.xcaps_put(owner, path, KSR.pv.get("$rb"))
	elseif method == "GET" then
		KSR.xcap_server.xcaps_get(owner, path)
	elseif method == "DELETE" then
		KSR.xcap_server.xcaps_del(owner, path)
	else
		KSR.xhttp.xhttp_reply(405, "Method Not Allowed", "text/plain", "")
	end
end
