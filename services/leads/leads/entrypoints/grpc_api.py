"""The leads gRPC front: translate, call the service layer, translate back."""

from __future__ import annotations

import grpc

from leads import bootstrap
from leads.adapters import protomap
from leads.service_layer import services
from shangji.leads.v1 import leads_pb2_grpc
from shangji_kit import auth, names
from shangji_kit.rpc import server
from shangji_kit.settings import Settings


class LeadsApi(leads_pb2_grpc.LeadsServiceServicer):
    def __init__(self, uow_factory) -> None:
        self.uow = uow_factory

    def CreateLead(self, request, context):
        lead = request.lead
        cmd = services.CreateLead(company=lead.company, contact_name=lead.contact_name, phone=lead.phone,
                                  email=lead.email, region=lead.region, source=lead.source, owner=lead.owner,
                                  request_id=request.request_id)
        return protomap.lead_to_proto(services.create_lead(cmd, auth.principal().user_id, self.uow()))

    def GetLead(self, request, context):
        lead_id = names.parse(request.name, "leads")
        return protomap.lead_to_proto(services.get_lead(lead_id, auth.principal().user_id, self.uow()))

    def ListLeads(self, request, context):
        page = services.list_leads(auth.principal().user_id, request.page_size, request.page_token, self.uow())
        return protomap.page_to_proto(page)

    def ConvertLead(self, request, context):
        lead_id = names.parse(request.name, "leads")
        lead = services.convert_lead(lead_id, auth.principal().user_id, request.etag, request.opportunity_title,
                                     self.uow())
        return protomap.lead_to_proto(lead)


def register(grpc_server: grpc.Server, settings: Settings | None = None) -> list[str]:
    leads_pb2_grpc.add_LeadsServiceServicer_to_server(LeadsApi(bootstrap.uow_factory(settings)), grpc_server)
    return ["shangji.leads.v1.LeadsService"]


if __name__ == "__main__":
    server.main("leads", register)
