/// The operator API's OpenAPI 3.1 document, served at `/openapi.json`. A test compares its
/// paths and methods with the router's routes, so the two cannot drift apart.
enum OpenAPIDocument {
    static let json = #"""
{
 "components": {
  "responses": {
   "Refused": {
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/APIError"
      }
     }
    },
    "description": "Refused: the error says why, field names the input at fault"
   }
  },
  "schemas": {
   "APIError": {
    "properties": {
     "error": {
      "type": "string"
     },
     "field": {
      "type": "string"
     }
    },
    "type": "object"
   },
   "AuditView": {
    "properties": {
     "action": {
      "type": "string"
     },
     "actor": {
      "type": "string"
     },
     "at": {
      "format": "date-time",
      "type": "string"
     },
     "detail": {
      "type": "string"
     },
     "id": {
      "type": "integer"
     },
     "outcome": {
      "type": "string"
     },
     "role": {
      "type": "string"
     },
     "target": {
      "type": "string"
     }
    },
    "type": "object"
   },
   "CommandAccepted": {
    "properties": {
     "id": {
      "type": "integer"
     },
     "lamps": {
      "type": "integer"
     },
     "target": {
      "type": "string"
     }
    },
    "type": "object"
   },
   "CommandProgress": {
    "properties": {
     "action": {
      "type": "string"
     },
     "applied": {
      "type": "integer"
     },
     "appliedLatency": {
      "$ref": "#/components/schemas/LatencySummary"
     },
     "createdAt": {
      "format": "date-time",
      "type": "string"
     },
     "failed": {
      "type": "integer"
     },
     "failedLamps": {
      "items": {
       "type": "string"
      },
      "type": "array"
     },
     "id": {
      "type": "integer"
     },
     "offline": {
      "type": "integer"
     },
     "pending": {
      "type": "integer"
     },
     "target": {
      "type": "string"
     },
     "total": {
      "type": "integer"
     }
    },
    "type": "object"
   },
   "CommandRequest": {
    "properties": {
     "action": {
      "enum": [
       "level",
       "on",
       "off",
       "override",
       "resume",
       "identify",
       "reboot"
      ],
      "type": "string"
     },
     "durationSeconds": {
      "type": "integer"
     },
     "fadeSeconds": {
      "type": "number"
     },
     "level": {
      "type": "number"
     },
     "target": {
      "type": "string"
     }
    },
    "required": [
     "target",
     "action"
    ],
    "type": "object"
   },
   "DesiredView": {
    "properties": {
     "fadeSeconds": {
      "type": "number"
     },
     "level": {
      "type": "number"
     },
     "mode": {
      "type": "string"
     },
     "overrideUntil": {
      "format": "date-time",
      "type": "string"
     },
     "version": {
      "type": "integer"
     }
    },
    "type": "object"
   },
   "EventView": {
    "properties": {
     "at": {
      "format": "date-time",
      "type": "string"
     },
     "detail": {
      "type": "string"
     },
     "id": {
      "type": "integer"
     },
     "kind": {
      "type": "string"
     },
     "lamp": {
      "type": "string"
     }
    },
    "type": "object"
   },
   "GroupCreate": {
    "properties": {
     "description": {
      "type": "string"
     },
     "name": {
      "type": "string"
     }
    },
    "required": [
     "name"
    ],
    "type": "object"
   },
   "GroupMembersChange": {
    "properties": {
     "add": {
      "items": {
       "type": "string"
      },
      "type": "array"
     },
     "remove": {
      "items": {
       "type": "string"
      },
      "type": "array"
     }
    },
    "type": "object"
   },
   "GroupView": {
    "properties": {
     "createdAt": {
      "format": "date-time",
      "type": "string"
     },
     "description": {
      "type": "string"
     },
     "lamps": {
      "type": "integer"
     },
     "name": {
      "type": "string"
     }
    },
    "type": "object"
   },
   "LampPage": {
    "properties": {
     "lamps": {
      "items": {
       "$ref": "#/components/schemas/LampView"
      },
      "type": "array"
     },
     "limit": {
      "type": "integer"
     },
     "offset": {
      "type": "integer"
     },
     "total": {
      "type": "integer"
     }
    },
    "type": "object"
   },
   "LampRegistration": {
    "properties": {
     "groups": {
      "items": {
       "type": "string"
      },
      "type": "array"
     },
     "id": {
      "type": "string"
     },
     "latitude": {
      "type": "number"
     },
     "longitude": {
      "type": "number"
     },
     "name": {
      "type": "string"
     },
     "wattage": {
      "type": "number"
     }
    },
    "required": [
     "id"
    ],
    "type": "object"
   },
   "LampView": {
    "properties": {
     "converged": {
      "type": "boolean"
     },
     "desired": {
      "$ref": "#/components/schemas/DesiredView"
     },
     "expectedLevel": {
      "type": "number"
     },
     "groups": {
      "items": {
       "type": "string"
      },
      "type": "array"
     },
     "id": {
      "type": "string"
     },
     "lastSeen": {
      "format": "date-time",
      "type": "string"
     },
     "latitude": {
      "type": "number"
     },
     "longitude": {
      "type": "number"
     },
     "name": {
      "type": "string"
     },
     "online": {
      "type": "boolean"
     },
     "program": {
      "type": "string"
     },
     "programRevision": {
      "type": "integer"
     },
     "recentEvents": {
      "items": {
       "$ref": "#/components/schemas/EventView"
      },
      "type": "array"
     },
     "reported": {
      "$ref": "#/components/schemas/ReportedView"
     },
     "wattage": {
      "type": "number"
     }
    },
    "type": "object"
   },
   "LatencySummary": {
    "properties": {
     "count": {
      "type": "integer"
     },
     "max": {
      "type": "number"
     },
     "p50": {
      "type": "number"
     },
     "p99": {
      "type": "number"
     }
    },
    "type": "object"
   },
   "ProgramAssign": {
    "properties": {
     "target": {
      "type": "string"
     }
    },
    "required": [
     "target"
    ],
    "type": "object"
   },
   "ProgramAssigned": {
    "properties": {
     "lamps": {
      "type": "integer"
     },
     "program": {
      "type": "string"
     },
     "revision": {
      "type": "integer"
     },
     "target": {
      "type": "string"
     }
    },
    "type": "object"
   },
   "ProgramSave": {
    "properties": {
     "source": {
      "type": "string"
     }
    },
    "required": [
     "source"
    ],
    "type": "object"
   },
   "ProgramView": {
    "properties": {
     "entries": {
      "type": "integer"
     },
     "lamps": {
      "type": "integer"
     },
     "name": {
      "type": "string"
     },
     "revision": {
      "type": "integer"
     },
     "source": {
      "type": "string"
     },
     "timeZone": {
      "type": "string"
     },
     "updatedAt": {
      "format": "date-time",
      "type": "string"
     },
     "updatedBy": {
      "type": "string"
     }
    },
    "type": "object"
   },
   "ReportedView": {
    "properties": {
     "ambientLux": {
      "type": "integer"
     },
     "appliedVersion": {
      "type": "integer"
     },
     "burnHours": {
      "type": "number"
     },
     "energyWattHours": {
      "type": "integer"
     },
     "faults": {
      "items": {
       "type": "string"
      },
      "type": "array"
     },
     "firmware": {
      "type": "string"
     },
     "lampClock": {
      "format": "date-time",
      "type": "string"
     },
     "level": {
      "type": "number"
     },
     "lit": {
      "type": "boolean"
     },
     "mode": {
      "type": "string"
     },
     "powerWatts": {
      "type": "number"
     },
     "reportedAt": {
      "format": "date-time",
      "type": "string"
     },
     "temperatureCelsius": {
      "type": "integer"
     }
    },
    "type": "object"
   },
   "StatsView": {
    "properties": {
     "handshakesAccepted": {
      "type": "integer"
     },
     "handshakesRefused": {
      "type": "integer"
     },
     "lampsOnline": {
      "type": "integer"
     },
     "lampsRegistered": {
      "type": "integer"
     },
     "linksClosedMalformed": {
      "type": "integer"
     },
     "linksReplaced": {
      "type": "integer"
     },
     "messagesIn": {
      "type": "integer"
     },
     "messagesOut": {
      "type": "integer"
     },
     "pendingHandshakes": {
      "type": "integer"
     },
     "streamSubscribers": {
      "type": "integer"
     },
     "streamSubscribersDropped": {
      "type": "integer"
     }
    },
    "type": "object"
   },
   "StreamEvent": {
    "properties": {
     "at": {
      "format": "date-time",
      "type": "string"
     },
     "channels": {
      "items": {
       "type": "string"
      },
      "type": "array"
     },
     "command": {
      "$ref": "#/components/schemas/CommandProgress"
     },
     "error": {
      "type": "string"
     },
     "fault": {
      "type": "string"
     },
     "faults": {
      "items": {
       "type": "string"
      },
      "type": "array"
     },
     "lamp": {
      "type": "string"
     },
     "level": {
      "type": "number"
     },
     "lit": {
      "type": "boolean"
     },
     "mode": {
      "type": "string"
     },
     "powerWatts": {
      "type": "number"
     },
     "raised": {
      "type": "boolean"
     },
     "type": {
      "type": "string"
     }
    },
    "type": "object"
   },
   "StreamRequest": {
    "properties": {
     "channels": {
      "items": {
       "type": "string"
      },
      "type": "array"
     },
     "op": {
      "enum": [
       "subscribe",
       "unsubscribe"
      ],
      "type": "string"
     },
     "statusIntervalSeconds": {
      "type": "number"
     }
    },
    "required": [
     "op",
     "channels"
    ],
    "type": "object"
   },
   "TokenCreate": {
    "properties": {
     "name": {
      "type": "string"
     },
     "role": {
      "enum": [
       "viewer",
       "operator",
       "admin"
      ],
      "type": "string"
     }
    },
    "required": [
     "name",
     "role"
    ],
    "type": "object"
   },
   "TokenCreated": {
    "properties": {
     "token": {
      "type": "string"
     },
     "view": {
      "$ref": "#/components/schemas/TokenView"
     }
    },
    "type": "object"
   },
   "TokenView": {
    "properties": {
     "createdAt": {
      "format": "date-time",
      "type": "string"
     },
     "createdBy": {
      "type": "string"
     },
     "name": {
      "type": "string"
     },
     "role": {
      "type": "string"
     }
    },
    "type": "object"
   }
  },
  "securitySchemes": {
   "bearer": {
    "scheme": "bearer",
    "type": "http"
   }
  }
 },
 "info": {
  "description": "Operate a fleet of networked street lamps. Every /api/v1 route needs a bearer token; x-role names the least role it needs (viewer < operator < admin).",
  "title": "lamplighterd operator API",
  "version": "1.0.0"
 },
 "openapi": "3.1.0",
 "paths": {
  "/api/v1/audit": {
   "get": {
    "parameters": [
     {
      "in": "query",
      "name": "actor",
      "required": false,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "action",
      "required": false,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "before",
      "required": false,
      "schema": {
       "type": "integer"
      }
     },
     {
      "in": "query",
      "name": "limit",
      "required": false,
      "schema": {
       "type": "integer"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "items": {
          "$ref": "#/components/schemas/AuditView"
         },
         "type": "array"
        }
       }
      },
      "description": "OK"
     },
     "400": {
      "$ref": "#/components/responses/Refused"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "The audit log, newest first",
    "x-role": "operator"
   }
  },
  "/api/v1/commands": {
   "post": {
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/CommandRequest"
       }
      }
     },
     "required": true
    },
    "responses": {
     "202": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/CommandAccepted"
        }
       }
      },
      "description": "Accepted"
     },
     "400": {
      "$ref": "#/components/responses/Refused"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     },
     "404": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "A command to lamp:ID, group:NAME or all; durable before the answer",
    "x-role": "operator"
   }
  },
  "/api/v1/commands/{id}": {
   "get": {
    "parameters": [
     {
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/CommandProgress"
        }
       }
      },
      "description": "OK"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     },
     "404": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "A command's progress",
    "x-role": "viewer"
   }
  },
  "/api/v1/events": {
   "get": {
    "parameters": [
     {
      "in": "query",
      "name": "lamp",
      "required": false,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "kind",
      "required": false,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "before",
      "required": false,
      "schema": {
       "type": "integer"
      }
     },
     {
      "in": "query",
      "name": "limit",
      "required": false,
      "schema": {
       "type": "integer"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "items": {
          "$ref": "#/components/schemas/EventView"
         },
         "type": "array"
        }
       }
      },
      "description": "OK"
     },
     "400": {
      "$ref": "#/components/responses/Refused"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "The event history, newest first",
    "x-role": "viewer"
   }
  },
  "/api/v1/groups": {
   "get": {
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "items": {
          "$ref": "#/components/schemas/GroupView"
         },
         "type": "array"
        }
       }
      },
      "description": "OK"
     },
     "400": {
      "$ref": "#/components/responses/Refused"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "Every group and its size",
    "x-role": "viewer"
   },
   "post": {
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/GroupCreate"
       }
      }
     },
     "required": true
    },
    "responses": {
     "201": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/GroupView"
        }
       }
      },
      "description": "Created"
     },
     "400": {
      "$ref": "#/components/responses/Refused"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     },
     "409": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "Create an empty group",
    "x-role": "operator"
   }
  },
  "/api/v1/groups/{name}": {
   "delete": {
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "204": {
      "description": "Deleted"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     },
     "404": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "Delete a group; its lamps stay",
    "x-role": "operator"
   },
   "get": {
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/GroupView"
        }
       }
      },
      "description": "OK"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     },
     "404": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "One group",
    "x-role": "viewer"
   }
  },
  "/api/v1/groups/{name}/members": {
   "post": {
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/GroupMembersChange"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/GroupView"
        }
       }
      },
      "description": "OK"
     },
     "400": {
      "$ref": "#/components/responses/Refused"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     },
     "404": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "Add and remove lamps, all or none",
    "x-role": "operator"
   }
  },
  "/api/v1/lamps": {
   "get": {
    "parameters": [
     {
      "in": "query",
      "name": "group",
      "required": false,
      "schema": {
       "type": "string"
      }
     },
     {
      "description": "program, level, on, off, override",
      "in": "query",
      "name": "mode",
      "required": false,
      "schema": {
       "type": "string"
      }
     },
     {
      "in": "query",
      "name": "online",
      "required": false,
      "schema": {
       "type": "boolean"
      }
     },
     {
      "in": "query",
      "name": "fault",
      "required": false,
      "schema": {
       "type": "boolean"
      }
     },
     {
      "in": "query",
      "name": "offset",
      "required": false,
      "schema": {
       "type": "integer"
      }
     },
     {
      "description": "1 to 10000, default 100",
      "in": "query",
      "name": "limit",
      "required": false,
      "schema": {
       "type": "integer"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/LampPage"
        }
       }
      },
      "description": "OK"
     },
     "400": {
      "$ref": "#/components/responses/Refused"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "A page of lamps, sorted by id",
    "x-role": "viewer"
   },
   "post": {
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "oneOf": [
         {
          "$ref": "#/components/schemas/LampRegistration"
         },
         {
          "items": {
           "$ref": "#/components/schemas/LampRegistration"
          },
          "type": "array"
         }
        ]
       }
      }
     },
     "required": true
    },
    "responses": {
     "201": {
      "content": {
       "application/json": {
        "schema": {
         "items": {
          "$ref": "#/components/schemas/LampView"
         },
         "type": "array"
        }
       }
      },
      "description": "Created"
     },
     "400": {
      "$ref": "#/components/responses/Refused"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     },
     "409": {
      "$ref": "#/components/responses/Refused"
     },
     "413": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "Register one lamp or an array of lamps, all or none",
    "x-role": "admin"
   }
  },
  "/api/v1/lamps/{id}": {
   "get": {
    "parameters": [
     {
      "in": "path",
      "name": "id",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/LampView"
        }
       }
      },
      "description": "OK"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     },
     "404": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "One lamp: desired versus reported, last seen, energy, recent events",
    "x-role": "viewer"
   }
  },
  "/api/v1/programs": {
   "get": {
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "items": {
          "$ref": "#/components/schemas/ProgramView"
         },
         "type": "array"
        }
       }
      },
      "description": "OK"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "Every lighting program",
    "x-role": "viewer"
   }
  },
  "/api/v1/programs/{name}": {
   "delete": {
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "204": {
      "description": "Deleted"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     },
     "404": {
      "$ref": "#/components/responses/Refused"
     },
     "409": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "Delete a program no lamp runs",
    "x-role": "operator"
   },
   "get": {
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ProgramView"
        }
       }
      },
      "description": "OK"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     },
     "404": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "One program, with its file text",
    "x-role": "viewer"
   },
   "put": {
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/ProgramSave"
       }
      }
     },
     "required": true
    },
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ProgramView"
        }
       }
      },
      "description": "OK"
     },
     "201": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ProgramView"
        }
       }
      },
      "description": "Created"
     },
     "400": {
      "$ref": "#/components/responses/Refused"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "Create or change a program from its file text; lamps running it get the new revision. Errors name the line and field",
    "x-role": "operator"
   }
  },
  "/api/v1/programs/{name}/assign": {
   "post": {
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/ProgramAssign"
       }
      }
     },
     "required": true
    },
    "responses": {
     "202": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ProgramAssigned"
        }
       }
      },
      "description": "Accepted"
     },
     "400": {
      "$ref": "#/components/responses/Refused"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     },
     "404": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "Run a program on lamp:ID, group:NAME or all: durable, then sent as desired state",
    "x-role": "operator"
   }
  },
  "/api/v1/stats": {
   "get": {
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/StatsView"
        }
       }
      },
      "description": "OK"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "Live counters",
    "x-role": "viewer"
   }
  },
  "/api/v1/stream": {
   "get": {
    "parameters": [
     {
      "description": "for clients that cannot set headers",
      "in": "query",
      "name": "token",
      "required": false,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "101": {
      "description": "Switching to WebSocket"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     },
     "426": {
      "$ref": "#/components/responses/Refused"
     },
     "503": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "The live event stream: a WebSocket of JSON text. Send StreamRequest, receive StreamEvent. Browsers pass the token as ?token=",
    "x-role": "viewer"
   }
  },
  "/api/v1/tokens": {
   "get": {
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "items": {
          "$ref": "#/components/schemas/TokenView"
         },
         "type": "array"
        }
       }
      },
      "description": "OK"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "Every token (never the secret)",
    "x-role": "admin"
   },
   "post": {
    "requestBody": {
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/TokenCreate"
       }
      }
     },
     "required": true
    },
    "responses": {
     "201": {
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/TokenCreated"
        }
       }
      },
      "description": "Created"
     },
     "400": {
      "$ref": "#/components/responses/Refused"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     },
     "409": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "Create a token; the secret is in this answer only",
    "x-role": "admin"
   }
  },
  "/api/v1/tokens/{name}": {
   "delete": {
    "parameters": [
     {
      "in": "path",
      "name": "name",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "204": {
      "description": "Revoked"
     },
     "401": {
      "$ref": "#/components/responses/Refused"
     },
     "403": {
      "$ref": "#/components/responses/Refused"
     },
     "404": {
      "$ref": "#/components/responses/Refused"
     }
    },
    "summary": "Revoke a token at once",
    "x-role": "admin"
   }
  },
  "/healthz": {
   "get": {
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "properties": {
          "status": {
           "type": "string"
          }
         },
         "type": "object"
        }
       }
      },
      "description": "OK"
     }
    },
    "security": [],
    "summary": "Liveness"
   }
  },
  "/metrics": {
   "get": {
    "responses": {
     "200": {
      "content": {
       "text/plain": {
        "schema": {
         "type": "string"
        }
       }
      },
      "description": "metrics"
     }
    },
    "security": [],
    "summary": "Prometheus text exposition"
   }
  },
  "/openapi.json": {
   "get": {
    "responses": {
     "200": {
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      },
      "description": "OK"
     }
    },
    "security": [],
    "summary": "This document"
   }
  }
 },
 "security": [
  {
   "bearer": []
  }
 ]
}
"""#
}
