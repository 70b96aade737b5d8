# Writes Sources/Controller/OpenAPIDocument.swift, the operator API's OpenAPI document.
# Edit the tables here and run it; ControllerTests compares the result with the router.
import json
def ref(n): return {"$ref": f"#/components/schemas/{n}"}
def arr(s): return {"type":"array","items":s}
err = {"$ref": "#/components/responses/Refused"}
def ok(schema, code="200", desc="OK"):
    r = {code: {"description":desc}}
    if schema: r[code]["content"]={"application/json":{"schema":schema}}
    return r
def op(summary, role, responses, params=None, body=None, codes=("400","401","403")):
    o={"summary":summary,"x-role":role,"responses":dict(responses)}
    for c in codes: o["responses"][c]=err
    if params: o["parameters"]=params
    if body: o["requestBody"]={"required":True,"content":{"application/json":{"schema":body}}}
    return o
def q(name, t="string", d=None):
    p={"name":name,"in":"query","required":False,"schema":{"type":t}}
    if d: p["description"]=d
    return p
def pp(name): return {"name":name,"in":"path","required":True,"schema":{"type":"string"}}
S=lambda **k: {"type":"object","properties":k}
st={"type":"string"}; num={"type":"number"}; integer={"type":"integer"}; boolean={"type":"boolean"}; dt={"type":"string","format":"date-time"}
paths={
 "/healthz":{"get":{"summary":"Liveness","security":[],"responses":ok(S(status=st))}},
 "/openapi.json":{"get":{"summary":"This document","security":[],"responses":ok({"type":"object"})}},
 "/metrics":{"get":{"summary":"Prometheus text exposition","security":[],"responses":{"200":{"description":"metrics","content":{"text/plain":{"schema":st}}}}}},
 "/api/v1/lamps":{
   "get":op("A page of lamps, sorted by id","viewer",ok(ref("LampPage")),[q("group"),q("mode",d="program, level, on, off, override"),q("online","boolean"),q("fault","boolean"),q("offset","integer"),q("limit","integer",d="1 to 10000, default 100")]),
   "post":op("Register one lamp or an array of lamps, all or none","admin",ok(arr(ref("LampView")),"201","Created"),body={"oneOf":[ref("LampRegistration"),arr(ref("LampRegistration"))]},codes=("400","401","403","409","413"))},
 "/api/v1/lamps/{id}":{"get":op("One lamp: desired versus reported, last seen, energy, recent events","viewer",ok(ref("LampView")),[pp("id")],codes=("401","403","404"))},
 "/api/v1/groups":{
   "get":op("Every group and its size","viewer",ok(arr(ref("GroupView")))),
   "post":op("Create an empty group","operator",ok(ref("GroupView"),"201","Created"),body=ref("GroupCreate"),codes=("400","401","403","409"))},
 "/api/v1/groups/{name}":{
   "get":op("One group","viewer",ok(ref("GroupView")),[pp("name")],codes=("401","403","404")),
   "delete":op("Delete a group; its lamps stay","operator",{"204":{"description":"Deleted"}},[pp("name")],codes=("401","403","404"))},
 "/api/v1/groups/{name}/members":{"post":op("Add and remove lamps, all or none","operator",ok(ref("GroupView")),[pp("name")],body=ref("GroupMembersChange"),codes=("400","401","403","404"))},
 "/api/v1/commands":{"post":op("A command to lamp:ID, group:NAME or all; durable before the answer","operator",ok(ref("CommandAccepted"),"202","Accepted"),body=ref("CommandRequest"),codes=("400","401","403","404"))},
 "/api/v1/commands/{id}":{"get":op("A command's progress","viewer",ok(ref("CommandProgress")),[pp("id")],codes=("401","403","404"))},
 "/api/v1/events":{"get":op("The event history, newest first","viewer",ok(arr(ref("EventView"))),[q("lamp"),q("kind"),q("before","integer"),q("limit","integer")])},
 "/api/v1/stats":{"get":op("Live counters","viewer",ok(ref("StatsView")),codes=("401","403"))},
 "/api/v1/audit":{"get":op("The audit log, newest first","operator",ok(arr(ref("AuditView"))),[q("actor"),q("action"),q("before","integer"),q("limit","integer")])},
 "/api/v1/tokens":{
   "get":op("Every token (never the secret)","admin",ok(arr(ref("TokenView"))),codes=("401","403")),
   "post":op("Create a token; the secret is in this answer only","admin",ok(ref("TokenCreated"),"201","Created"),body=ref("TokenCreate"),codes=("400","401","403","409"))},
 "/api/v1/tokens/{name}":{"delete":op("Revoke a token at once","admin",{"204":{"description":"Revoked"}},[pp("name")],codes=("401","403","404"))},
 "/api/v1/programs":{"get":op("Every lighting program","viewer",ok(arr(ref("ProgramView"))),codes=("401","403"))},
 "/api/v1/programs/{name}":{
   "get":op("One program, with its file text","viewer",ok(ref("ProgramView")),[pp("name")],codes=("401","403","404")),
   "put":op("Create or change a program from its file text; lamps running it get the new revision. Errors name the line and field","operator",{**ok(ref("ProgramView")),**ok(ref("ProgramView"),"201","Created")},[pp("name")],body=ref("ProgramSave")),
   "delete":op("Delete a program no lamp runs","operator",{"204":{"description":"Deleted"}},[pp("name")],codes=("401","403","404","409"))},
 "/api/v1/programs/{name}/assign":{"post":op("Run a program on lamp:ID, group:NAME or all: durable, then sent as desired state","operator",ok(ref("ProgramAssigned"),"202","Accepted"),[pp("name")],body=ref("ProgramAssign"),codes=("400","401","403","404"))},
 "/api/v1/stream":{"get":op("The live event stream: a WebSocket of JSON text. Send StreamRequest, receive StreamEvent. Browsers pass the token as ?token=","viewer",{"101":{"description":"Switching to WebSocket"}},[q("token",d="for clients that cannot set headers")],codes=("401","403","426","503"))},
}
schemas={
 "APIError":S(error=st,field=st),
 "LampRegistration":{**S(id=st,name=st,latitude=num,longitude=num,wattage=num,groups=arr(st)),"required":["id"]},
 "DesiredView":S(version=integer,mode=st,level=num,overrideUntil=dt,fadeSeconds=num),
 "ReportedView":S(appliedVersion=integer,level=num,mode=st,lit=boolean,powerWatts=num,energyWattHours=integer,burnHours=num,faults=arr(st),temperatureCelsius=integer,ambientLux=integer,firmware=st,reportedAt=dt,lampClock=dt),
 "EventView":S(id=integer,lamp=st,kind=st,detail=st,at=dt),
 "LampView":S(id=st,name=st,groups=arr(st),latitude=num,longitude=num,wattage=num,online=boolean,lastSeen=dt,desired=ref("DesiredView"),reported=ref("ReportedView"),converged=boolean,recentEvents=arr(ref("EventView")),program=st,programRevision=integer,expectedLevel=num),
 "LampPage":S(lamps=arr(ref("LampView")),total=integer,offset=integer,limit=integer),
 "GroupView":S(name=st,description=st,lamps=integer,createdAt=dt),
 "GroupCreate":{**S(name=st,description=st),"required":["name"]},
 "GroupMembersChange":S(add=arr(st),remove=arr(st)),
 "CommandRequest":{**S(target=st,action={"type":"string","enum":["level","on","off","override","resume","identify","reboot"]},level=num,fadeSeconds=num,durationSeconds=integer),"required":["target","action"]},
 "CommandAccepted":S(id=integer,target=st,lamps=integer),
 "LatencySummary":S(count=integer,p50=num,p99=num,max=num),
 "CommandProgress":S(id=integer,target=st,action=st,createdAt=dt,total=integer,applied=integer,failed=integer,pending=integer,offline=integer,failedLamps=arr(st),appliedLatency=ref("LatencySummary")),
 "StatsView":S(lampsRegistered=integer,lampsOnline=integer,pendingHandshakes=integer,handshakesAccepted=integer,handshakesRefused=integer,linksReplaced=integer,linksClosedMalformed=integer,messagesIn=integer,messagesOut=integer,streamSubscribers=integer,streamSubscribersDropped=integer),
 "AuditView":S(id=integer,at=dt,actor=st,role=st,action=st,target=st,detail=st,outcome=st),
 "TokenCreate":{**S(name=st,role={"type":"string","enum":["viewer","operator","admin"]}),"required":["name","role"]},
 "TokenView":S(name=st,role=st,createdAt=dt,createdBy=st),
 "TokenCreated":S(view=ref("TokenView"),token=st),
 "ProgramView":S(name=st,revision=integer,source=st,entries=integer,lamps=integer,timeZone=st,updatedAt=dt,updatedBy=st),
 "ProgramSave":{**S(source=st),"required":["source"]},
 "ProgramAssign":{**S(target=st),"required":["target"]},
 "ProgramAssigned":S(program=st,revision=integer,target=st,lamps=integer),
 "StreamRequest":{**S(op={"type":"string","enum":["subscribe","unsubscribe"]},channels=arr(st),statusIntervalSeconds=num),"required":["op","channels"]},
 "StreamEvent":S(type=st,at=dt,lamp=st,level=num,mode=st,lit=boolean,powerWatts=num,faults=arr(st),fault=st,raised=boolean,command=ref("CommandProgress"),channels=arr(st),error=st),
}
doc={"openapi":"3.1.0","info":{"title":"lamplighterd operator API","version":"1.0.0","description":"Operate a fleet of networked street lamps. Every /api/v1 route needs a bearer token; x-role names the least role it needs (viewer < operator < admin)."},
 "security":[{"bearer":[]}],
 "components":{"securitySchemes":{"bearer":{"type":"http","scheme":"bearer"}},"schemas":schemas,
   "responses":{"Refused":{"description":"Refused: the error says why, field names the input at fault","content":{"application/json":{"schema":ref("APIError")}}}}},
 "paths":paths}
text=json.dumps(doc,indent=1,sort_keys=True)
assert '"""#' not in text
import os
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'Sources/Controller/OpenAPIDocument.swift'),'w').write('''/// The operator API's OpenAPI 3.1 document, served at `/openapi.json`. A test compares its
/// paths and methods with the router's routes, so the two cannot drift apart.
enum OpenAPIDocument {
    static let json = #"""
''' + text + '''
"""#
}
''')
