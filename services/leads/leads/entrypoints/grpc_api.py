"""The leads gRPC front: translate, call the service layer, translate back."""

from __future__ import annotations

import grpc

from leads import bootstrap
from leads.adapters import protomap
from leads.service_layer import services
from shangji.leads.v1 import leads_pb2_grpc
from shangji_kit import auth, names
from shangji_kit.errors import InvalidArgument
from shangji_kit.rpc import server
from shangji_kit.settings import Settings


class LeadsApi(leads_pb2_grpc.LeadsServiceServicer):
    def __init__(self, uow_factory) -> None:
        self.uow = uow_factory

    def CreateLead(self, request, context):
        lead = request.lead
        cmd = services.CreateLead(company=lead.company, contact_name=lead.contact_name, phone=lead.phone,
                                  email=lead.email, region=lead.region, source=lead.source, owner=lead.owner,
                                  request_id=request.request_id, industry=lead.industry, to_pool=request.to_pool)
        return protomap.captured_to_proto(services.create_lead(cmd, auth.principal().user_id, self.uow()))

    def GetLead(self, request, context):
        lead_id = names.parse(request.name, "leads")
        return protomap.lead_to_proto(services.get_lead(lead_id, auth.principal().user_id, self.uow()))

    def ListLeads(self, request, context):
        page = services.list_leads(auth.principal().user_id, request.page_size, request.page_token, self.uow(),
                                   in_pool=request.in_pool)
        return protomap.page_to_proto(page)

    def ConvertLead(self, request, context):
        lead_id = names.parse(request.name, "leads")
        lead = services.convert_lead(lead_id, auth.principal().user_id, request.etag, request.opportunity_title,
                                     self.uow())
        return protomap.lead_to_proto(lead)

    def ClaimLeads(self, request, context):
        lead_ids = services.parse_lead_names(list(request.names))
        leads = services.claim_leads(lead_ids, auth.principal().user_id, self.uow())
        return protomap.claim_response(leads)

    def ReturnLead(self, request, context):
        lead_id = names.parse(request.name, "leads")
        return protomap.lead_to_proto(services.return_lead(lead_id, request.reason, auth.principal().user_id,
                                                           self.uow()))

    def AssignLeads(self, request, context):
        lead_ids = services.parse_lead_names(list(request.names))
        leads = services.assign_leads(lead_ids, request.assignee, auth.principal().user_id, self.uow())
        return protomap.assign_response(leads)

    def AutoAssignLead(self, request, context):
        lead_id = names.parse(request.name, "leads")
        return protomap.lead_to_proto(services.auto_assign_lead(lead_id, auth.principal().user_id, self.uow()))

    def AddFollowUp(self, request, context):
        lead_id = names.parse(request.name, "leads")
        follow_up = services.add_follow_up(lead_id, protomap.follow_up_kind(request.kind), request.note,
                                           auth.principal().user_id, self.uow())
        return protomap.follow_up_to_proto(follow_up)

    def ImportLeads(self, request_iterator, context):
        header = None
        rows: list[tuple[int, list[str]]] = []
        for request in request_iterator:
            part = request.WhichOneof("part")
            if header is None:
                if part != "header":
                    raise InvalidArgument.field("header", "the first message must be the header")
                header = protomap.import_header(request.header)
            elif part == "header":
                raise InvalidArgument.field("header", "only the first message may be a header")
            elif part == "rows":
                rows.extend(protomap.import_rows(request.rows))
        if header is None:
            raise InvalidArgument.field("header", "required: the stream was empty")
        cmd = services.ImportLeads(rows=rows, **header)
        return protomap.import_report_to_proto(services.import_leads(cmd, auth.principal().user_id, self.uow()))


def register(grpc_server: grpc.Server, settings: Settings | None = None) -> list[str]:
    leads_pb2_grpc.add_LeadsServiceServicer_to_server(LeadsApi(bootstrap.uow_factory(settings)), grpc_server)
    return ["shangji.leads.v1.LeadsService"]


if __name__ == "__main__":
    server.main("leads", register)
